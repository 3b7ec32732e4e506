"""`oscar service`: the systemd unit and the launchd plist it writes, where, for whom (issue 12).
Pure generation; nothing here touches the machine's service manager."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from oscar import service
from oscar.service import ServiceError

ARGV = (sys.executable, "-m", "oscar.cli", "run")
USER_HOME = Path("/home/ana")


def plan(**kwargs) -> service.ServicePlan:
    defaults = dict(platform="linux", environ={}, euid=0, user_home=USER_HOME, argv=ARGV,
                    checkout=False, can_run=lambda path: True, exists=lambda name: True)
    return service.plan(**{**defaults, **kwargs})


def unit_keys(text: str) -> dict[str, list[tuple[str, str]]]:
    """systemd's format: [Section] lines, Key=Value lines (keys may repeat), # comments."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            assert line.endswith("]"), line
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, line
        key, value = line.split("=", 1)
        current.append((key, value))
    return sections


def one(section: list[tuple[str, str]], key: str) -> str:
    values = [v for k, v in section if k == key]
    assert len(values) == 1, (key, values)
    return values[0]


def test_system_unit_runs_oscar_as_its_own_account_restarting_on_failure():
    system = plan(user_scope=False)
    assert system.path == Path("/etc/systemd/system/oscar.service")
    keys = unit_keys(service.systemd_unit(system))
    svc = keys["Service"]
    assert one(svc, "ExecStart") == f"{sys.executable} -m oscar.cli run"
    assert one(svc, "Restart") == "on-failure"
    assert one(svc, "User") == "oscar"
    assert ("Environment", '"OSCAR_HOME=/var/lib/oscar"') in svc
    assert one(svc, "StateDirectory") == "oscar"  # systemd makes /var/lib/oscar for User=
    assert one(svc, "KillMode") == "mixed"  # SIGTERM to supervisord, which stops the rest
    assert int(one(svc, "TimeoutStopSec")) > 60  # supervisord's own stop limit
    assert one(keys["Install"], "WantedBy") == "multi-user.target"
    assert one(keys["Unit"], "After") == "network-online.target"


def test_user_unit_lives_in_the_users_config_and_uses_the_users_state_home():
    user = plan(user_scope=True, euid=1000, environ={"USER": "ana"})
    assert user.path == USER_HOME / ".config/systemd/user/oscar.service"
    assert user.home == USER_HOME / ".local/state/oscar"
    svc = unit_keys(service.systemd_unit(user))["Service"]
    assert ("Environment", f'"OSCAR_HOME={USER_HOME}/.local/state/oscar"') in svc
    assert not [k for k, _ in svc if k in ("User", "StateDirectory")]
    assert one(unit_keys(service.systemd_unit(user))["Install"], "WantedBy") == "default.target"
    assert any("enable-linger ana" in note for note in user.notes)

    custom = plan(user_scope=True, euid=1000,
                  environ={"XDG_CONFIG_HOME": "/cfg", "OSCAR_HOME": "/shows/tour"})
    assert custom.path == Path("/cfg/systemd/user/oscar.service")
    assert custom.home == Path("/shows/tour")


def test_odd_characters_are_quoted_for_systemd():
    odd = plan(user_scope=True, euid=1000, argv=("/opt/my venv/bin/python", "-m", "oscar.cli",
                                                  "run"), environ={"OSCAR_HOME": "/s/100%"})
    svc = unit_keys(service.systemd_unit(odd))["Service"]
    assert one(svc, "ExecStart") == '"/opt/my venv/bin/python" -m oscar.cli run'
    assert ("Environment", '"OSCAR_HOME=/s/100%%"') in svc  # % is a specifier


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("user_scope", [False, True])
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path, user_scope):
    unit = tmp_path / "oscar.service"
    unit.write_text(service.systemd_unit(plan(user_scope=user_scope,
                                              euid=1000 if user_scope else 0)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if str(unit) in line]
    assert result.returncode == 0 and complaints == [], result.stderr


def test_bad_keys_would_be_noticed_by_the_verify_check(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze")
    unit = tmp_path / "oscar.service"
    unit.write_text(service.systemd_unit(plan(user_scope=False)).replace(
        "Restart=on-failure", "Restart=sometimes"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)
    assert "restart" in result.stderr.lower()


def test_launchd_plist_for_a_daemon_and_an_agent():
    daemon = plan(user_scope=False, platform="darwin", environ={"SUDO_USER": "ana"})
    assert daemon.path == Path("/Library/LaunchDaemons/org.oscar.oscar.plist")
    job = plistlib.loads(service.launchd_plist(daemon))
    assert job["Label"] == "org.oscar.oscar"
    assert job["ProgramArguments"] == list(ARGV)
    assert job["EnvironmentVariables"]["OSCAR_HOME"] == "/var/lib/oscar"
    assert job["RunAtLoad"] is True and job["KeepAlive"] == {"SuccessfulExit": False}
    assert job["UserName"] == "ana"  # no dedicated account made on macOS: the installer's
    assert job["ProcessType"] == "Interactive"  # no App Nap throttling of cues
    assert job["StandardErrorPath"] == "/var/lib/oscar/logs/launchd.log"

    agent = plan(user_scope=True, platform="darwin", euid=501,
                 user_home=Path("/Users/ana"))
    assert agent.path == Path("/Users/ana/Library/LaunchAgents/org.oscar.oscar.plist")
    job = plistlib.loads(service.launchd_plist(agent))
    assert "UserName" not in job
    assert job["EnvironmentVariables"]["OSCAR_HOME"] == "/Users/ana/.local/state/oscar"


def test_who_runs_a_system_service():
    assert plan(user_scope=False).user == "oscar"
    fresh = plan(user_scope=False, exists=lambda name: False)
    assert fresh.create_user and service.install_commands(fresh)[0][:2] == ["useradd",
                                                                            "--system"]
    # A venv in a private home folder: the dedicated account could not start it.
    private = plan(user_scope=False, can_run=lambda path: False, environ={"SUDO_USER": "ana"})
    assert private.user == "ana" and not private.create_user
    assert any("not reachable by other accounts" in note for note in private.notes)
    assert plan(user_scope=False, run_as="show").user == "show"
    with pytest.raises(ServiceError, match="needs root"):
        plan(user_scope=False, euid=1000)
    with pytest.raises(ServiceError, match="no service manager"):
        plan(user_scope=True, platform="win32", euid=1000)


def test_others_can_run_looks_at_every_folder_above():
    with tempfile.TemporaryDirectory(prefix="osc-", dir="/tmp") as base:
        top = Path(base)
        top.chmod(0o755)
        folder = top / "private" / "venv"
        folder.mkdir(parents=True)
        for made in (top / "private", folder):
            made.chmod(0o755)  # whatever umask an earlier test left
        program = folder / "python"
        program.write_text("")
        program.chmod(0o755)
        assert service.others_can_run(program)
        (top / "private").chmod(0o750)  # like a 0750 home folder
        assert not service.others_can_run(program)


def test_dry_run_prints_and_changes_nothing(tmp_path, capsys):
    user = plan(user_scope=True, euid=1000, user_home=tmp_path)
    assert service.install(user, dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"would write {tmp_path}/.config/systemd/user/oscar.service" in out
    assert "ExecStart=" in out and "would run: systemctl --user enable --now oscar.service" in out
    assert list(tmp_path.iterdir()) == []
    assert service.uninstall(user, dry_run=True) == 0
    assert "would run: systemctl --user disable --now oscar.service" in capsys.readouterr().out


def test_install_then_uninstall_writes_and_removes_the_file(tmp_path, monkeypatch):
    ran: list[list[str]] = []
    monkeypatch.setattr(service, "_run", lambda command, say, check=True: ran.append(command))
    monkeypatch.setattr(service.shutil, "which", lambda name: f"/usr/bin/{name}")
    user = plan(user_scope=True, euid=1000, user_home=tmp_path)
    said: list[str] = []
    assert service.install(user, say=said.append) == 0
    assert user.path.read_text() == service.systemd_unit(user)
    assert (user.home / "logs").is_dir()
    assert ran == [["systemctl", "--user", "daemon-reload"],
                   ["systemctl", "--user", "enable", "--now", "oscar.service"]]
    ran.clear()
    assert service.uninstall(user, say=said.append) == 0
    assert not user.path.exists() and user.home.is_dir()  # the data stays
    assert ran == [["systemctl", "--user", "disable", "--now", "oscar.service"],
                   ["systemctl", "--user", "daemon-reload"]]
    assert service.uninstall(user, say=said.append) == 3  # nothing installed


def test_no_service_manager_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(service.shutil, "which", lambda name: None)
    user = plan(user_scope=True, euid=1000, user_home=tmp_path)
    with pytest.raises(ServiceError, match="systemctl not found"):
        service.install(user, say=lambda text: None)
    assert not user.path.exists()
