"""Where Oscar keeps its state (issue 12) and where its socket files go on Linux and macOS."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from oscar import home as home_mod
from oscar import settings as settings_mod
from oscar.home import Home, choose

USER = Path("/home/ana")


def test_oscar_home_always_wins():
    env = {"OSCAR_HOME": "~/show", "XDG_STATE_HOME": "/x"}
    for checkout, euid in ((True, 1000), (False, 1000), (False, 0)):
        assert choose(env, checkout=checkout, euid=euid, user_home=USER) == Home(
            Path("~/show").expanduser(), "OSCAR_HOME")


def test_a_checkout_keeps_var_beside_the_code_even_for_root():
    for euid in (1000, 0):
        assert choose({}, checkout=True, euid=euid, user_home=USER) == Home(
            home_mod.CHECKOUT_ROOT / "var", "checkout")


def test_installed_for_a_user_the_xdg_state_folder():
    assert choose({}, checkout=False, euid=1000, user_home=USER) == Home(
        USER / ".local" / "state" / "oscar", "user")
    assert choose({"XDG_STATE_HOME": "/srv/state"}, checkout=False, euid=1000,
                  user_home=USER) == Home(Path("/srv/state/oscar"), "user")
    # The XDG spec: relative (or empty) values are ignored.
    for bad in ("state", ""):
        assert choose({"XDG_STATE_HOME": bad}, checkout=False, euid=1000,
                      user_home=USER).path == USER / ".local" / "state" / "oscar"


def test_installed_as_root_the_system_folder():
    assert choose({}, checkout=False, euid=0, user_home=Path("/root")) == Home(
        Path("/var/lib/oscar"), "system")


def test_this_tree_is_a_checkout_and_site_packages_is_not(tmp_path):
    assert home_mod.is_checkout()
    site = tmp_path / "site-packages"
    (site / "oscar").mkdir(parents=True)
    assert not home_mod.is_checkout(site)


def test_settings_load_uses_the_checkout_home_without_oscar_home():
    assert settings_mod.load({}).home == (home_mod.CHECKOUT_ROOT / "var").resolve()


# ---- socket paths -----------------------------------------------------------------------------


def test_ipc_limits_per_platform():
    assert home_mod.ipc_path_limit("linux") == 107
    for other in ("darwin", "freebsd13"):
        assert home_mod.ipc_path_limit(other) == 103


def test_a_short_home_keeps_its_sockets_in_run():
    home = Path("/tmp/osc-abc")
    for platform in ("linux", "darwin"):
        assert home_mod.socket_dir(home, platform=platform, uid=501) == home / "run"


def test_a_home_that_fits_linux_but_not_macos_moves_its_sockets_on_macos_only():
    home = Path("/Users/ana/Library/Application Support/Show Files/2026 Tour/oscar-" + "x" * 6)
    run_length = len(str(home / "run"))
    assert 103 < run_length + home_mod.LONGEST_SOCKET_LEAF <= 107
    assert home_mod.socket_dir(home, platform="linux", uid=501) == home / "run"
    short = home_mod.socket_dir(home, platform="darwin", uid=501)
    assert short.parent == Path("/tmp") and short.name.startswith("oscar-501-")
    # Stable (every process computes it alone) and one per home.
    assert short == home_mod.socket_dir(home, platform="darwin", uid=501)
    assert short != home_mod.socket_dir(home / "other", platform="darwin", uid=501)


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_every_endpoint_of_a_deep_home_fits_the_platform(monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    deep = Path("/tmp") / ("d" * 150) / "home"
    loaded = settings_mod.Settings(home=deep)
    loaded.check()  # no "too long" refusal any more
    limit = home_mod.ipc_path_limit(platform)
    for endpoint in (loaded.control, loaded.publish, loaded.events,
                     loaded.actor_endpoint("p" * 64), f"ipc://{loaded.supervisor_socket}"):
        assert len(endpoint) - len("ipc://") <= limit, endpoint
    assert loaded.socket_dir.parent == Path("/tmp")
    assert loaded.db_path == deep / "oscar.sqlite3"  # the state itself stays in the home


def test_the_short_folder_is_made_private_and_a_planted_one_is_refused(monkeypatch):
    with tempfile.TemporaryDirectory(prefix="osc-", dir="/tmp") as base:
        monkeypatch.setattr(home_mod, "SHORT_SOCKET_BASE", Path(base))
        deep = Path(base) / ("d" * 120)
        loaded = settings_mod.Settings(home=deep)
        loaded.ensure_dirs()
        folder = loaded.socket_dir
        assert folder.parent == Path(base)
        assert (folder.stat().st_mode & 0o777) == 0o700 and (folder / "actors").is_dir()
        loaded.ensure_dirs()  # ours already: fine

        os.chmod(folder, 0o755)  # someone opened it up
        with pytest.raises(settings_mod.SettingsError, match="not a private folder"):
            loaded.ensure_dirs()
        os.chmod(folder, 0o700)

        target = Path(base) / "elsewhere"
        target.mkdir(mode=0o700)
        for child in folder.iterdir():
            child.rmdir()
        folder.rmdir()
        folder.symlink_to(target)  # a link planted where our folder goes
        with pytest.raises(settings_mod.SettingsError, match="not a private folder"):
            loaded.ensure_dirs()
