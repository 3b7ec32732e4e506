import tempfile
from pathlib import Path

import pytest

from oscar import settings
from oscar.settings import DEFAULT_HOME, SettingsError


@pytest.fixture
def home():
    """Short on purpose: pytest's tmp_path is too long for the default ipc:// socket paths."""
    with tempfile.TemporaryDirectory(prefix="osc-", dir="/tmp") as path:
        yield Path(path) / "h"


def load(home, toml=None, **env):
    home.mkdir(exist_ok=True)
    if toml is not None:
        (home / "oscar.toml").write_text(toml)
    return settings.load({"OSCAR_HOME": str(home), **env})


def test_defaults(home):
    loaded = load(home)
    assert (loaded.home, loaded.osc_host, loaded.osc_udp_port, loaded.osc_tcp_port) == (
        home, "0.0.0.0", 53999, 53999)
    assert (loaded.web_host, loaded.web_port, loaded.request_timeout) == ("127.0.0.1", 8053, 2.0)
    assert loaded.endpoints() == {
        "control": f"ipc://{home}/run/registry-control.sock",
        "publish": f"ipc://{home}/run/registry-pub.sock",
        "events": f"ipc://{home}/run/registry-events.sock",
        "actor (example)": f"ipc://{home}/run/actors/NAME.sock",
    }
    assert loaded.db_path == home / "oscar.sqlite3"
    assert loaded.log_dir == home / "logs"
    assert loaded.programs_dir == home / "run" / "programs"


def test_home_defaults_to_var_in_the_checkout():
    assert settings.load({}).home == DEFAULT_HOME


def test_relative_home_is_made_absolute(home, monkeypatch):
    monkeypatch.chdir(home.parent)
    assert settings.load({"OSCAR_HOME": "h"}).home == home


def test_ensure_dirs_creates_the_run_and_log_folders(home):
    loaded = load(home)
    loaded.ensure_dirs()
    assert all(p.is_dir() for p in (loaded.run_dir, loaded.log_dir, loaded.programs_dir,
                                    loaded.run_dir / "actors"))


def test_toml_in_oscar_home_overrides_defaults(home):
    loaded = load(home, toml='osc_udp_port = 9000\nweb_host = "0.0.0.0"\nrequest_timeout = 5\n'
                             'control_endpoint = "tcp://127.0.0.1:7001"\n')
    assert (loaded.osc_udp_port, loaded.osc_tcp_port) == (9000, 53999)
    assert (loaded.web_host, loaded.request_timeout) == ("0.0.0.0", 5.0)
    assert loaded.control == "tcp://127.0.0.1:7001"


def test_environment_overrides_toml(home):
    loaded = load(home, toml="web_port = 9001\n", OSCAR_WEB_PORT="9002")
    assert loaded.web_port == 9002


@pytest.mark.parametrize(
    ("toml", "env", "udp", "tcp"),
    [
        ("", {"OSCAR_OSC_PORT": "7000"}, 7000, 7000),
        ("osc_udp_port = 9000\n", {"OSCAR_OSC_PORT": "7000"}, 7000, 7000),
        ("", {"OSCAR_OSC_PORT": "7000", "OSCAR_OSC_TCP_PORT": "7001"}, 7000, 7001),
        ("", {"OSCAR_OSC_UDP_PORT": "7002", "OSCAR_OSC_PORT": "7000"}, 7002, 7000),
        ("osc_tcp_port = 9000\n", {"OSCAR_OSC_UDP_PORT": "7002"}, 7002, 9000),
    ],
)
def test_osc_port_sets_both_and_specific_variables_win(home, toml, env, udp, tcp):
    loaded = load(home, toml=toml, **env)
    assert (loaded.osc_udp_port, loaded.osc_tcp_port) == (udp, tcp)


def test_empty_environment_variables_are_ignored(home):
    loaded = load(home, toml="web_port = 9001\n", OSCAR_WEB_PORT="", OSCAR_OSC_PORT="")
    assert (loaded.web_port, loaded.osc_udp_port) == (9001, 53999)


def test_actor_endpoint_template_puts_the_device_name_in(home):
    loaded = load(home, OSCAR_ACTOR_ENDPOINT_TEMPLATE="tcp://127.0.0.1:0/{name}")
    assert loaded.actor_endpoint("proj1") == "tcp://127.0.0.1:0/proj1"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("", {"OSCAR_WEB_PORT": "eighty"}, "OSCAR_WEB_PORT: web_port must be a whole number"),
        ("", {"OSCAR_OSC_PORT": "x"}, "OSCAR_OSC_PORT: osc_udp_port must be a whole number"),
        ("", {"OSCAR_OSC_TCP_PORT": "53999.5"}, "osc_tcp_port must be a whole number"),
        ("", {"OSCAR_OSC_UDP_PORT": "0"}, "osc_udp_port must be 1-65535, got 0"),
        ("", {"OSCAR_WEB_PORT": "70000"}, "web_port must be 1-65535, got 70000"),
        ("", {"OSCAR_REQUEST_TIMEOUT": "soon"}, "request_timeout must be a number, got 'soon'"),
        ("", {"OSCAR_REQUEST_TIMEOUT": "0"}, "request_timeout must be a positive number"),
        ("", {"OSCAR_REQUEST_TIMEOUT": "-1"}, "request_timeout must be a positive number"),
        ("", {"OSCAR_REQUEST_TIMEOUT": "nan"}, "request_timeout must be a positive number"),
        ("", {"OSCAR_REQUEST_TIMEOUT": "inf"}, "request_timeout must be a positive number"),
        ("web_port = 'x'\n", {}, "oscar.toml: web_port must be a whole number, got 'x'"),
        ("web_port = true\n", {}, "web_port must be a whole number, got True"),
        ("web_port = 8053.5\n", {}, "web_port must be a whole number, got 8053.5"),
        ("request_timeout = false\n", {}, "request_timeout must be a number, got False"),
        ("wbe_port = 9000\n", {}, "oscar.toml: unknown setting 'wbe_port'"),
        ("home = '/tmp'\n", {}, "unknown setting 'home'"),
        ("web_port = \n", {}, "oscar.toml: "),
    ],
)
def test_bad_values_name_the_setting(home, toml, env, message):
    with pytest.raises(SettingsError) as caught:
        load(home, toml=toml, **env)
    assert message in str(caught.value)


def test_integral_toml_float_is_accepted_as_a_port(home):
    assert load(home, toml="web_port = 9000.0\n").web_port == 9000


def test_a_deep_oscar_home_puts_its_socket_files_in_a_short_folder(tmp_path):
    # (Was refused before issue 12; oscar.home.socket_dir, tests/unit/test_home.py.)
    loaded = load(tmp_path / ("h" * 100))
    assert str(loaded.socket_dir).startswith("/tmp/oscar-")
    for endpoint in loaded.endpoints().values():
        assert len(endpoint) - len("ipc://") <= settings.MAX_IPC_PATH
    assert loaded.db_path.parent == loaded.home  # only the sockets move


def test_long_oscar_home_is_fine_when_no_endpoint_is_ipc(tmp_path):
    loaded = load(tmp_path / ("h" * 100),
                  OSCAR_CONTROL_ENDPOINT="tcp://127.0.0.1:7001",
                  OSCAR_PUBLISH_ENDPOINT="tcp://127.0.0.1:7002",
                  OSCAR_EVENTS_ENDPOINT="tcp://127.0.0.1:7003",
                  OSCAR_ACTOR_ENDPOINT_TEMPLATE="tcp://127.0.0.1:7004/{name}")
    assert loaded.events == "tcp://127.0.0.1:7003"


def test_a_long_oscar_home_still_fits_a_64_character_device_name(tmp_path):
    home = Path("/tmp") / ("h" * 60)
    loaded = settings.load({"OSCAR_HOME": str(home)})
    long_name = "x" * 64
    endpoint = loaded.actor_endpoint(long_name)
    assert len(endpoint) - len("ipc://") <= settings.MAX_IPC_PATH
    assert endpoint == loaded.actor_endpoint(long_name)  # stable across processes
    assert endpoint != loaded.actor_endpoint("y" * 64)
    assert loaded.actor_endpoint("proj1").endswith("/run/actors/proj1.sock")
