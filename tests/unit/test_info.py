"""`oscar info` and `oscar --version` without Oscar running (issue 12)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from oscar import cli, info
from oscar import settings as settings_mod
from oscar.home import Home


@pytest.fixture
def loaded():
    with tempfile.TemporaryDirectory(prefix="osc-", dir="/tmp") as path:
        (Path(path) / "oscar.toml").write_text("osc_udp_port = 54000\nweb_port = 8100\n")
        yield settings_mod.load({"OSCAR_HOME": path, "OSCAR_OSC_TCP_PORT": "54001"})


def test_info_says_where_everything_is(loaded):
    data = info.collect(loaded, Home(loaded.home, "OSCAR_HOME"))
    assert data["home"] == str(loaded.home) and data["home_source"] == "OSCAR_HOME"
    assert data["config_file"] == str(loaded.home / "oscar.toml") and data["config_file_exists"]
    assert data["ports"]["osc_udp"] == 54000 and data["ports"]["osc_tcp"] == 54001
    assert data["web_url"] == "http://127.0.0.1:8100/"
    assert data["endpoints"]["control"] == f"ipc://{loaded.home}/run/registry-control.sock"
    assert data["endpoints"]["supervisor"] == f"unix://{loaded.home}/run/supervisor.sock"
    assert data["log_dir"] == str(loaded.home / "logs")
    assert data["running"] is False and data["supervisord_pid"] is None
    assert set(data["versions"]) >= {"oscar", "python", "supervisor", "pyzmq", "libzmq"}
    assert data["installed_from"] == "checkout"
    json.dumps(data)  # --json prints it as is

    text = info.text(data)
    for expected in (f"home                      {loaded.home} (from OSCAR_HOME)",
                     "UDP 54000 and TCP 54001 on 0.0.0.0", "http://127.0.0.1:8100/",
                     "running                   no (start it with `oscar run`",
                     f"logs                      {loaded.home}/logs"):
        assert expected in text


def test_cli_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"oscar {info.version()}\n"


def test_cli_info_json_works_with_nothing_running(loaded, monkeypatch, capsys):
    monkeypatch.setenv("OSCAR_HOME", str(loaded.home))
    assert cli.main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["home"] == str(loaded.home) and data["running"] is False
