"""The `oscar` command as an operator meets it: exit codes, --json, errors said once, fast
"not running", totals that survive actor restarts, and "since" that means something."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oscar.osc_decode import encode_message
from tests.support import REPO, free_port, wait_for


def cli_without_oscar(home: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess,
                                                                   float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "oscar.cli", *args], cwd=REPO,
                            env={**os.environ, "OSCAR_HOME": str(home), **env},
                            capture_output=True, text=True, timeout=30)
    return result, time.monotonic() - started


def test_no_oscar_running_is_said_at_once_with_exit_3():
    home = Path(tempfile.mkdtemp(prefix="osc-cli-", dir="/tmp"))
    try:
        for args in (["status"], ["device", "add", "p", "127.0.0.1", "9"]):
            result, took = cli_without_oscar(home, *args)
            assert result.returncode == 3, result.stderr
            socket_path = home / "run" / "registry-control.sock"
            assert f"Oscar is not running (no control socket at {socket_path})" in result.stderr
            assert result.stderr.count("not running") == 1
            assert "may or may not" not in result.stderr
            assert took < 1.5, f"oscar {' '.join(args)} took {took:.1f}s"
    finally:
        shutil.rmtree(home)


def test_a_socket_file_nobody_answers_gets_one_try_then_exit_3():
    home = Path(tempfile.mkdtemp(prefix="osc-cli-", dir="/tmp"))
    try:
        (home / "run").mkdir()
        (home / "run" / "registry-control.sock").touch()  # left behind, nothing listening
        result, took = cli_without_oscar(home, "status", OSCAR_REQUEST_TIMEOUT="0.5")
        assert result.returncode == 3, result.stderr
        assert "Oscar is not answering at ipc://" in result.stderr
        assert "oscar-registry.log" in result.stderr
        assert took < 3.0, f"took {took:.1f}s for one 0.5 s try"
    finally:
        shutil.rmtree(home)


def test_exit_codes_json_and_errors_said_once(oscar, device):
    assert oscar.cli("device", "add", "proj1", "127.0.0.1", str(device.port)).returncode == 0

    ghost = oscar.cli("device", "show", "ghost")
    assert ghost.returncode == 4 and "ghost" in ghost.stderr
    assert oscar.cli("device", "enable", "ghost").returncode == 4
    assert oscar.cli("status", "--reset", "ghost").returncode == 4

    bad_port = oscar.cli("device", "add", "p2", "127.0.0.1", "70000")
    assert bad_port.returncode == 2
    assert bad_port.stderr.count("65535") == 1, bad_port.stderr  # said once
    assert oscar.cli("device", "edit", "proj1").returncode == 2  # nothing to change
    assert oscar.cli("device").returncode == 2  # argparse usage

    oscar.call("add", device={"name": "off", "host": "127.0.0.1", "port": free_port(),
                              "enabled": False})
    refused = oscar.cli("restart", "off")
    assert refused.returncode == 5 and "disabled" in refused.stderr

    listing = json.loads(oscar.cli("device", "list", "--json").stdout)
    assert [d["name"] for d in listing] == ["off", "proj1"]
    assert json.loads(oscar.cli("device", "show", "proj1", "--json").stdout)["port"] == \
        device.port
    status = json.loads(oscar.cli("status", "--json").stdout)
    assert {row["name"] for row in status["devices"]} == {"off", "proj1"}
    assert isinstance(json.loads(oscar.cli("activity", "--json").stdout), list)
    exported = oscar.cli("export", "--json")
    assert exported.returncode == 0 and json.loads(exported.stdout)["format"] == "oscar-devices"

    help_text = oscar.cli("device", "add", "--help").stdout
    assert "the device's TCP port" in help_text and "IP address or host name" in help_text


def sent_total(oscar, name):
    return oscar.device_status(name)["sent"]


def send(oscar, name, text, count=1):
    for _ in range(count):
        oscar.send_udp(encode_message(f"/device/{name}/message", [text]))


def test_totals_survive_kill_and_re_enable_until_reset(oscar, device):
    oscar.add_device("proj1", device.port)
    oscar.wait_state("proj1", "ready")
    send(oscar, "proj1", "A", 3)
    wait_for(lambda: sent_total(oscar, "proj1") == 3, message="3 sent")

    old_pid = oscar.pid_of("oscar-device-proj1")
    os.kill(old_pid, signal.SIGKILL)
    wait_for(lambda: (row := oscar.device_status("proj1"))["pid"] not in (0, old_pid)
             and row["state"] == "ready", timeout=30, message="a new actor connected")
    assert sent_total(oscar, "proj1") == 3
    send(oscar, "proj1", "B")
    wait_for(lambda: sent_total(oscar, "proj1") == 4, message="4 sent in total")
    row = oscar.device_status("proj1")
    assert row["run"]["sent"] == 1
    assert row["accepted"] == row["sent"] + row["dropped"] + row["in_flight"] + row["queued"]

    assert oscar.cli("device", "disable", "proj1").returncode == 0
    oscar.wait_state("proj1", "disabled")
    assert oscar.cli("device", "enable", "proj1").returncode == 0
    oscar.wait_state("proj1", "ready", timeout=30)
    send(oscar, "proj1", "C")
    wait_for(lambda: sent_total(oscar, "proj1") == 5, message="5 sent in total")
    text = oscar.cli("status").stdout
    assert text.splitlines()[1].split()[5] == "5", text  # SENT, after "0s ago"

    # kill -9 of the registry: the totals come back from run/totals.json
    totals = oscar.settings.totals_path
    def saved_sent() -> int:
        entry = json.loads(totals.read_text())["proj1"]
        return entry["base"]["sent"] + entry["run"]["sent"]
    wait_for(lambda: saved_sent() == 5, message="totals saved")
    registry_pid = oscar.pid_of("oscar-registry")
    os.kill(registry_pid, signal.SIGKILL)
    wait_for(lambda: oscar.pid_of("oscar-registry") not in (0, registry_pid), timeout=30,
             message="registry restarted")
    wait_for(lambda: oscar.device_status("proj1")["run"]["sent"] >= 1, timeout=15,
             message="the actor's report reaching the new registry")
    assert sent_total(oscar, "proj1") == 5

    reset = oscar.cli("status", "--reset", "proj1", "--json")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["sent"] == 0
    assert sent_total(oscar, "proj1") == 0
    send(oscar, "proj1", "D")
    wait_for(lambda: sent_total(oscar, "proj1") == 1, message="1 sent since the reset")


def test_since_does_not_move_while_a_device_is_down_and_retrying(oscar):
    oscar.add_device("gone", free_port(), backoff_min=0.1, backoff_max=0.2)
    first = wait_for(lambda: (row := oscar.device_status("gone"))["state"]
                     in ("waiting", "connecting") and row, message="gone to be retrying")
    time.sleep(1.5)
    second = oscar.device_status("gone")
    assert second["state"] in ("waiting", "connecting")
    assert second["state_since"] != first["state_since"]  # it did retry meanwhile
    assert second["since"] == first["since"]
