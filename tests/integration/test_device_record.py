"""The device record through the real `oscar` command under supervisord: tags, the encoding and
terminator checked together, the heartbeat column, and the files Oscar writes kept private."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import urllib.request

from oscar.actor_status import HEARTBEAT
from oscar.status_table import STALE_AFTER
from tests.support import wait_for

# Written by the test harness (OscarSystem captures `oscar run` output there), not by Oscar.
HARNESS_FILES = {"oscar-run.out"}


def test_cli_tags_encoding_check_and_heartbeat_column(oscar, device):
    added = oscar.cli("device", "add", "proj1", "127.0.0.1", str(device.port),
                      "--tags", "stage-left,proj")
    assert added.returncode == 0, added.stderr
    assert oscar.call("get", name="proj1")["tags"] == ["proj", "stage-left"]
    listing = oscar.cli("device", "list").stdout.splitlines()
    assert listing[0].split()[-1] == "TAGS"
    assert listing[1].split()[-1] == "proj,stage-left"

    # The terminator must be writable in the encoding: refused at the door, naming the field.
    refused = oscar.cli("device", "edit", "proj1", "--encoding", "ascii", "--terminator", "\u00e9")
    assert refused.returncode != 0
    assert "terminator" in refused.stderr and "cannot be written in ascii" in refused.stderr
    assert oscar.call("get", name="proj1")["encoding"] == "utf-8"
    bad_codec = oscar.cli("device", "edit", "proj1", "--encoding", "idna")
    assert bad_codec.returncode != 0 and "encoding" in bad_codec.stderr
    cleared = oscar.cli("device", "edit", "proj1", "--tags", "")
    assert cleared.returncode == 0, cleared.stderr
    assert oscar.call("get", name="proj1")["tags"] == []

    # Every actor reports every HEARTBEAT (5 s) and the listener every 2 s: a live system
    # shows young heartbeats.
    oscar.wait_state("proj1", "ready")
    row = oscar.device_status("proj1")
    assert 0 <= row["heartbeat_age"] < HEARTBEAT + 1 and row["stale"] is False
    status = oscar.cli("status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    start = lines[0].index("HEARTBEAT")
    heartbeat = lines[1][start:lines[0].index("LAST ERROR")].strip()
    assert heartbeat.endswith("s") and 0 <= int(heartbeat[:-1]) < HEARTBEAT + 1, lines
    assert "; heartbeat " in status.stdout


def test_oscar_home_and_its_files_are_private(oscar, device):
    oscar.add_device("proj1", device.port)
    oscar.wait_state("proj1", "ready")
    wait_for(lambda: oscar.settings.desired_state_path.exists(), timeout=10,
             message="desired-state file")
    # the web process answers (so its files exist too)
    wait_for(lambda: oscar.program_state("oscar-web") == "RUNNING", timeout=20,
             message="oscar-web RUNNING")
    seen = []
    for folder, dirs, files in os.walk(oscar.home):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            if name in HARNESS_FILES and folder == str(oscar.home):
                continue
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            seen.append((os.path.relpath(path, oscar.home), oct(mode)))
    readable = [(path, mode) for path, mode in seen if int(mode, 8) & 0o077]
    assert readable == []
    names = {path for path, _ in seen}
    # the files the issue names are among those checked
    assert {"oscar.sqlite3", "logs", "logs/oscar-registry.log", "logs/supervisord.log",
            "logs/oscar-device-proj1.log", "run/desired-state.msgpack"} <= names


def test_a_frozen_actor_shows_as_stale_in_status_and_health(oscar, device):
    oscar.add_device("proj1", device.port)
    oscar.wait_state("proj1", "ready")
    pid = oscar.pid_of("oscar-device-proj1")
    os.kill(pid, signal.SIGSTOP)  # the loop stops turning; supervisord still says RUNNING
    try:
        row = wait_for(lambda: (r := oscar.device_status("proj1"))["stale"] and r,
                       timeout=STALE_AFTER + 15, message="proj1 to be stale")
        assert row["heartbeat_age"] > STALE_AFTER and row["process"] == "RUNNING"
        assert re.search(r"proj1 .* stale \d+s", oscar.cli("status").stdout)
        health = wait_for(lambda: web_json(oscar, "/api/health"), timeout=20,
                          message="the web UI to answer")
        assert health["stale"] == ["oscar-device-proj1"]
        assert health["actors"]["oldest"] == "proj1"
        assert health["actors"]["oldest_heartbeat_age"] > STALE_AFTER
        assert health["listener"]["stale"] is False and health["listener"]["heartbeat_age"] < 6
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: not oscar.device_status("proj1")["stale"], timeout=20,
             message="proj1 reporting again")


def web_json(oscar, path: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{oscar.web_port}{path}",
                                    timeout=5) as response:
            return json.load(response)
    except OSError:
        return None
