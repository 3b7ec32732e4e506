"""Issue 9: the cue history lasts. Real supervisord, real listener and actor, a fake device.

- events are written to $OSCAR_HOME/history.sqlite, survive `kill -9` of the registry
  (supervisord starts a new one) and are filtered by time with `oscar activity --since/--until`;
- the feedback targets: seeded from OSCAR_FEEDBACK, set with `oscar feedback`, kept by the
  registry across a kill -9, published on PUB (config.feedback:) on change and periodically;
  the listener follows a change: the next reply goes to the new target only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import sqlite3
import time
from datetime import datetime

import pytest
import zmq

from oscar import zmqutil
from oscar.messages import FeedbackTargets, decode
from tests.support import FakeDevice, OscarSystem, osc_message, stop_and_clean, wait_for


def iso(timestamp: float) -> str:
    """Local time as `oscar activity` takes it: 2026-11-26T20:31:05.250000."""
    return datetime.fromtimestamp(timestamp).isoformat()


def in_file(home, text: str) -> bool:
    """Committed to the history file (what a kill -9 cannot take back)."""
    db = sqlite3.connect(f"file:{home / 'history.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM events WHERE event = 'sent' AND detail LIKE ?",
                          (f"%{text}%",)).fetchone()[0] > 0
    finally:
        db.close()


def kill_registry(oscar: OscarSystem) -> int:
    old = oscar.pid_of("oscar-registry")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: oscar.pid_of("oscar-registry") not in (0, old), timeout=20,
             message="supervisord to start a new registry")
    oscar.call("ping")
    return old


def activity_csv(oscar: OscarSystem, *args: str) -> list[dict[str, str]]:
    result = oscar.cli("activity", "--csv", "--limit", "1000", *args)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout, newline="")))


def test_history_survives_kill_9_and_is_filtered_by_time(oscar, device):
    oscar.add_device("hist1", device.port)
    wait_for(lambda: oscar.device_status("hist1")["state"] in ("ready", "connected"),
             timeout=15, message="hist1 connected")
    start = time.time()
    oscar.send_udp(osc_message("/device/hist1/message", "ALPHA"))
    wait_for(lambda: in_file(oscar.home, "ALPHA"), timeout=10, message="ALPHA in the file")
    time.sleep(0.3)
    middle = time.time()
    time.sleep(0.3)
    oscar.send_udp(osc_message("/device/hist1/message", "BRAVO"))
    wait_for(lambda: in_file(oscar.home, "BRAVO"), timeout=10, message="BRAVO in the file")
    end = time.time()

    old = kill_registry(oscar)
    assert oscar.pid_of("oscar-registry") != old

    before = activity_csv(oscar, "--device", "hist1", "--kind", "sent",
                          "--since", iso(start), "--until", iso(middle))
    after = activity_csv(oscar, "--device", "hist1", "--kind", "sent",
                         "--since", iso(middle), "--until", iso(end))
    assert [r["detail"] for r in before] and all("ALPHA" in r["detail"] for r in before)
    assert [r["detail"] for r in after] and all("BRAVO" in r["detail"] for r in after)
    assert {r["device"] for r in before + after} == {"hist1"}
    assert all(start <= float(r["unix_time"]) <= end for r in before + after)
    # the state changes of hist1 and the listener's view are in the history as well
    kinds = {e["event"] for e in json.loads(oscar.cli("activity", "--device", "hist1",
                                                      "--since", "10m", "--json").stdout)}
    assert {"sent", "state", "config"} <= kinds
    text = oscar.cli("activity", "--device", "hist1", "--since", iso(middle))
    assert text.returncode == 0 and "BRAVO" in text.stdout and "ALPHA" not in text.stdout
    bad = oscar.cli("activity", "--since", "half past eight")
    assert bad.returncode == 2 and "--since: 'half past eight' is not a time" in bad.stderr


@pytest.fixture
def oscar_with_feedback(request):
    system = OscarSystem(extra_env={"OSCAR_FEEDBACK": "udp://127.0.0.1:9000"}).start()
    try:
        yield system
    finally:
        stop_and_clean(system, request)


def feedback_messages(sub: zmq.Socket, seconds: float) -> list[list[str]]:
    found = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sub.poll(100):
            message = decode(sub.recv_multipart())
            if isinstance(message, FeedbackTargets):
                found.append(message.targets)
    return found


def test_feedback_targets_from_cli_kept_and_published(oscar_with_feedback):
    oscar = oscar_with_feedback
    listed = json.loads(oscar.cli("feedback", "list", "--json").stdout)
    assert listed == {"targets": ["udp://127.0.0.1:9000"], "source": "setting"}

    ctx = zmq.Context()
    sub = zmqutil.socket(ctx, zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"config.feedback:")
    zmqutil.connect(sub, oscar.settings.publish, oscar.settings.home)
    try:
        # with every periodic snapshot (every 2 s)
        assert ["udp://127.0.0.1:9000"] in feedback_messages(sub, 4.5)
        added = oscar.cli("feedback", "add", "tcp://127.0.0.1:9100")
        assert added.returncode == 0, added.stderr
        assert "tcp://127.0.0.1:9100" in added.stdout
        assert ["udp://127.0.0.1:9000", "tcp://127.0.0.1:9100"] in feedback_messages(sub, 3)

        refused = oscar.cli("feedback", "set", "udp://127.0.0.1:9000", "udp://nowhere")
        assert refused.returncode == 2
        assert "udp://nowhere" in refused.stderr and "targets[1]" in refused.stderr

        removed = oscar.cli("feedback", "remove", "udp://127.0.0.1:9000")
        assert removed.returncode == 0, removed.stderr
        kill_registry(oscar)
        listed = json.loads(oscar.cli("feedback", "list", "--json").stdout)
        assert listed == {"targets": ["tcp://127.0.0.1:9100"], "source": "store"}
        assert ["tcp://127.0.0.1:9100"] in feedback_messages(sub, 4.5)
        assert oscar.cli("feedback", "set").returncode == 0
        assert json.loads(oscar.cli("feedback", "list", "--json").stdout) == {
            "targets": [], "source": "store"}
    finally:
        sub.close(linger=0)
        ctx.term()


def udp_receiver() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    return sock, sock.getsockname()[1]


def addresses_within(sock: socket.socket, seconds: float) -> list[str]:
    found = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            packet = sock.recv(65536)
        except TimeoutError:
            continue
        found.append(packet.split(b"\0", 1)[0].decode(errors="replace"))
    return found


def test_feedback_set_moves_where_replies_go(request):
    """Registry side to listener side: a list set with `oscar feedback set` reaches the
    listener over PUB and the next reply goes to the new target only."""
    first, first_port = udp_receiver()
    second, second_port = udp_receiver()
    device = FakeDevice(reply=b"OK\r").start()
    system = OscarSystem(extra_env={"OSCAR_FEEDBACK": f"udp://127.0.0.1:{first_port}"}).start()
    try:
        system.add_device("fb1", device.port)
        wait_for(lambda: system.device_status("fb1")["state"] in ("ready", "connected"),
                 timeout=15, message="fb1 connected")
        system.send_udp(osc_message("/device/fb1/message", "PWR 1"))
        assert "/oscar/device/fb1/reply" in addresses_within(first, 3)
        assert system.cli("feedback", "set", f"udp://127.0.0.1:{second_port}").returncode == 0

        def reply_reaches_second() -> bool:
            system.send_udp(osc_message("/device/fb1/message", "PWR 2"))
            return "/oscar/device/fb1/reply" in addresses_within(second, 1)

        wait_for(reply_reaches_second, timeout=10, message="a reply at the new target")
        addresses_within(first, 0.3)  # whatever left before the change arrived
        system.send_udp(osc_message("/device/fb1/message", "PWR 3"))
        assert "/oscar/device/fb1/reply" in addresses_within(second, 3)
        assert "/oscar/device/fb1/reply" not in addresses_within(first, 0.5)
    finally:
        stop_and_clean(system, request)
        device.stop()
        first.close()
        second.close()
