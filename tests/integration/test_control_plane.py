"""The control plane under hostile input and a lost store, with a real supervisord.

- Garbage, badly addressed and oversized frames on the control socket: the registry (same PID)
  keeps answering, its memory stays small, each refusal is counted.
- Malformed status reports on the events socket: `oscar status` and the status op still work.
- 60 KB OSC addresses and uncapped events: registry memory stays small, activity text is capped.
- The store deleted under a stopped Oscar: the registry refuses to start and says how to
  restore; the data plane keeps running; restoring the daily backup brings the devices back
  with a revision above the old one, and a device added afterwards receives cues.
"""

import os
import random
import shutil
import socket
import subprocess
import sys

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oscar import backups, zmqutil
from oscar.messages import TEXT_CAP, Event, Reply, Request, decode
from tests.support import REPO, FakeDevice, OscarSystem, osc_message, wait_for

RSS_LIMIT_KB = 150 * 1024


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def registry_pid(oscar) -> int:
    return oscar.call("ping")["pid"]


def bad_messages(oscar) -> int:
    return oscar.call("status")["registry"]["counters"].get("bad_messages", 0)


def ipc_path(endpoint: str) -> str:
    assert endpoint.startswith("ipc://")
    return endpoint[len("ipc://"):]


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    context.term()


def test_garbage_and_oversized_frames_on_the_control_socket(oscar, ctx):
    pid = registry_pid(oscar)
    rng = random.Random(6)

    # 4 KB of random bytes straight into the socket file (not even ZeroMQ's handshake)
    for _ in range(5):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(ipc_path(oscar.settings.control))
            raw.sendall(rng.randbytes(4096))

    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(oscar.settings.control)
    # no empty delimiter: cannot be answered, counted
    dealer.send_multipart(Request("ping").encode())
    dealer.send_multipart([rng.randbytes(4096)])
    # addressed like REQ but the body is garbage: a coded reply comes back
    dealer.send_multipart([b"", b"request", rng.randbytes(4096)])
    assert dealer.poll(5000), "no reply to an undecodable request"
    empty, topic, body = dealer.recv_multipart()
    reply = decode([topic, body])
    assert (empty, reply.ok, reply.code) == (b"", False, "bad_request")
    assert "not an Oscar request" in reply.error
    # well addressed, well formed: answered
    dealer.send_multipart([b"", *Request("ping").encode()])
    assert dealer.poll(5000)
    assert decode(dealer.recv_multipart()[1:]).result["pid"] == pid
    dealer.close()

    # a REQ with a one-frame message gets an error reply and stays usable
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(oscar.settings.control)
    req.send(b"hello")
    assert req.poll(5000)
    assert decode(req.recv_multipart()) == Reply(
        ok=False, code="bad_request",
        error="not an Oscar request: expected 2 frames [topic, body], got 1")
    req.close()

    # 200 MB in one frame: ZeroMQ drops the connection at the size header (MAXMSGSIZE)
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(oscar.settings.control)
    big.send_multipart([b"", b"request", bytes(200 * 1024 * 1024)])
    wait_for(lambda: oscar.client().call("ping"), timeout=20, message="ping after 200 MB")
    big.close()

    assert registry_pid(oscar) == pid
    assert oscar.call("status")["devices"] == []
    assert rss_kb(pid) < RSS_LIMIT_KB, f"registry RSS {rss_kb(pid)} kB"
    assert bad_messages(oscar) >= 3  # one undelimited ping, random frame, garbage body, REQ
    log = (oscar.home / "logs" / "oscar-registry.log").read_text()
    assert "ignored undecodable message on" in log
    assert max(len(line) for line in log.splitlines()) < 600


def test_malformed_status_reports_do_not_break_status(oscar, ctx, device):
    oscar.add_device("proj", device.port)
    oscar.wait_state("proj", "ready")
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 1000)
    push.connect(oscar.settings.events)

    def raw(kind, **fields):
        return [kind.encode(), msgpack.packb({"k": kind, "v": 1, **fields}, use_bin_type=True)]

    before = bad_messages(oscar)
    bad = [
        raw("status.listener", pid=1, udp_port=1, tcp_port=1, counters={"packets": "many"}),
        raw("status.listener", pid=1, udp_port=1, tcp_port=1, counters=[1, 2, 3]),
        raw("status.device", device="proj", state="connected", since="yesterday", pid=1),
        raw("status.device", device="proj", state="connected", since=1e300, pid=1),
        raw("status.device", device="proj", state="connected", since=1.0, pid=1, sent="3"),
        raw("event", source="device", event="sent", detail={"x": 1}, device="proj"),
        [b"status.listener:", b"\xff" * 100],
        [b"only one frame"],
    ]
    for frames in bad:
        push.send_multipart(frames)
    wait_for(lambda: bad_messages(oscar) >= before + len(bad), timeout=10,
             message="every bad report counted")
    push.close()
    # a frame over the events socket's 64 KiB limit: that sender is cut off, nothing kept
    big = ctx.socket(zmq.PUSH)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(oscar.settings.events)
    big.send_multipart([b"event.listener:x", bytes(50 * 1024 * 1024)])
    wait_for(lambda: oscar.client().call("ping"), timeout=20, message="ping after 50 MB")
    big.close()
    assert rss_kb(registry_pid(oscar)) < RSS_LIMIT_KB

    status = oscar.call("status")
    row = status["devices"][0]
    assert row["state"] == "ready" and isinstance(row["since"], float)
    listener = status["listener"]
    assert listener is None or all(isinstance(v, int) for v in listener["counters"].values())
    cli = oscar.cli("status")
    assert cli.returncode == 0, cli.stderr
    assert "proj" in cli.stdout
    assert oscar.cli("status", "--json").returncode == 0


def test_huge_osc_addresses_are_capped_everywhere(oscar, ctx):
    pid = registry_pid(oscar)
    start_rss = rss_kb(pid)
    address = "/device/" + "x" * 60_000 + "/message"
    for _ in range(300):
        oscar.send_udp(osc_message(address, "cue"))
    # and a peer that does not cap at all (an older or hostile sender) on the events socket
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 2000)
    push.connect(oscar.settings.events)
    detail = "unknown_device: " + address[:40_000]
    for i in range(2500):  # each just under the events socket's 64 KiB limit
        frames = [b"event.listener:rejected", msgpack.packb(
            {"k": "event", "v": 1, "source": "listener", "event": "rejected",
             "detail": detail, "sender": "s" * 20_000, "at": 1.7e9 + i}, use_bin_type=True)]
        assert len(frames[1]) < 64 * 1024
        push.send_multipart(frames)
    push.close()
    # the history lists by event time: the peer's events are the ones dated 1.7e9 + i
    pushed = {"since": 1.7e9, "until": 1.7e9 + 2500, "limit": 2000}
    wait_for(lambda: len(oscar.call("activity", **pushed)) == 2000, timeout=20,
             message="activity filled with big events")
    activity = oscar.call("activity", **pushed)
    assert max(len(e["detail"]) for e in activity) == TEXT_CAP
    assert max(len(e["sender"]) for e in activity) == TEXT_CAP
    assert all(e["detail"].endswith("\u2026") for e in activity)
    listener_events = [e for e in oscar.call("activity", limit=2000) if e["at"] < 1.7e9]
    assert all(len(e["detail"]) <= TEXT_CAP for e in listener_events)
    cli = oscar.cli("activity", "--limit", "2000")
    assert cli.returncode == 0
    assert max(len(line) for line in cli.stdout.splitlines()) < 2 * TEXT_CAP
    rss = rss_kb(pid)
    assert rss < RSS_LIMIT_KB and rss - start_rss < 40 * 1024, (start_rss, rss)


# ---- a lost store ----------------------------------------------------------------------------

def start_without_registry(system: OscarSystem) -> None:
    """Like OscarSystem.start, but the registry is not expected to answer."""
    system.proc = subprocess.Popen(
        [sys.executable, "-m", "oscar.cli", "run"], cwd=REPO, env=system.env,
        stdout=open(system.home / "oscar-run.out", "a"), stderr=subprocess.STDOUT,
        start_new_session=True)
    system.pids.add(system.proc.pid)
    wait_for(lambda: system.program_state("oscar-listener") == "RUNNING", timeout=30,
             message="listener RUNNING")


def cue(system, name, text):
    system.send_udp(osc_message(f"/device/{name}/message", text))


def test_deleted_store_is_refused_and_the_daily_backup_restores_it():
    system = OscarSystem()
    failed = True
    try:
        with FakeDevice() as dev1, FakeDevice() as dev2, FakeDevice() as dev3:
            system.start()
            system.add_device("proj1", dev1.port)
            # the start-up backup of a store with a device in it
            assert system.ctl("restart", "oscar-registry").returncode == 0
            folder = backups.directory(system.home)
            wait_for(lambda: backups.newest(folder), timeout=20, message="a daily backup")
            system.call("ping")
            system.add_device("proj2", dev2.port)  # newer than the backup
            system.wait_state("proj1", "ready")
            old_revision = system.call("system")["revision"]
            system.stop()

            db = system.settings.db_path
            for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                path.unlink(missing_ok=True)
            start_without_registry(system)
            log_path = system.home / "logs" / "oscar-registry.log"
            wait_for(lambda: "refusing to start: the device store" in log_path.read_text(),
                     timeout=20, message="the refusal in the registry log")
            text = log_path.read_text()
            assert f"{db} is missing" in text and "2 device(s): proj1, proj2" in text
            assert f"cp {backups.newest(folder)} {db}" in text
            assert not db.exists()
            # not restarted in a loop: it waits in BACKOFF (and ends FATAL) or EXITED
            wait_for(lambda: system.program_state("oscar-registry") in (
                "BACKOFF", "FATAL", "EXITED"), timeout=20, message="registry not running")
            cli = system.cli("status")
            assert cli.returncode == 3 and str(log_path) in cli.stderr

            # the data plane keeps running on its desired-state file
            wait_for(lambda: system.program_state("oscar-device-proj1") == "RUNNING",
                     timeout=30, message="proj1's actor running")
            cue(system, "proj1", "STILL-RUNNING")
            wait_for(lambda: b"STILL-RUNNING\r" in dev1.received, timeout=15,
                     message="a cue while the registry refuses")

            shutil.copy(backups.newest(folder), db)
            if system.program_state("oscar-registry") != "BACKOFF":
                assert system.ctl("start", "oscar-registry").returncode == 0
            wait_for(lambda: system.client().call("ping"), timeout=60,
                     message="registry back after the restore")
            assert [d["name"] for d in system.call("list")] == ["proj1"]
            assert system.call("system")["revision"] > old_revision

            system.add_device("proj3", dev3.port)
            system.wait_state("proj3", "ready")
            wait_for(lambda: (cue(system, "proj3", "NEW-DEVICE"),
                              b"NEW-DEVICE\r" in dev3.received)[1], timeout=15, interval=0.5,
                     message="a cue to a device added after the restore")
            counters = system.listener_counters()
            assert counters.get("unknown_device", 0) == 0
            failed = False
    finally:
        system.stop()
        if failed:
            print(f"OSCAR_HOME kept for inspection: {system.home}")
        else:
            shutil.rmtree(system.home, ignore_errors=True)


def test_garbage_store_is_refused_not_overwritten():
    system = OscarSystem()
    failed = True
    try:
        system.settings.ensure_dirs()
        garbage = os.urandom(8192)
        system.settings.db_path.write_bytes(garbage)
        start_without_registry(system)
        log_path = system.home / "logs" / "oscar-registry.log"
        wait_for(lambda: "cannot be read" in log_path.read_text(), timeout=20,
                 message="the refusal in the registry log")
        assert system.settings.db_path.read_bytes() == garbage
        failed = False
    finally:
        system.stop()
        if not failed:
            shutil.rmtree(system.home, ignore_errors=True)


def test_event_cap_applies_when_the_listener_builds_it():
    assert len(Event("listener", "rejected", "x" * 70_000).detail) == TEXT_CAP


# ---- the control socket's envelope reader, fuzzed over a real (inproc) ROUTER ----------------

@pytest.fixture(scope="module")
def router_pair():
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind("inproc://control-fuzz")
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect("inproc://control-fuzz")
    yield router, dealer
    router.close()
    dealer.close()
    context.term()


def serve_once(router, counters):
    """What the registry's loop does with whatever is waiting: never raises."""
    answered = 0
    for envelope, request, error in zmqutil.drain_requests(router, counters):
        reply = (Reply(ok=True, result="pong") if isinstance(request, Request)
                 else Reply(ok=False, code="bad_request", error=error))
        zmqutil.reply(router, envelope, reply)
        answered += 1
    return answered


def fuzz_envelope(router_pair, frames):
    router, dealer = router_pair
    counters: dict[str, int] = {}
    dealer.send_multipart(frames)
    assert router.poll(2000)
    answered = serve_once(router, counters)
    assert answered + counters.get("bad_messages", 0) >= 1
    while dealer.poll(0):  # whatever came back is a well-formed reply after a delimiter
        back = dealer.recv_multipart()
        split = back.index(b"")
        assert isinstance(decode(back[split + 1:]), Reply)
    # and a proper request is still answered
    dealer.send_multipart([b"", *Request("ping").encode()])
    assert router.poll(2000)
    assert serve_once(router, {}) == 1
    assert dealer.poll(2000)
    assert decode(dealer.recv_multipart()[1:]) == Reply(ok=True, result="pong")


envelope_frames = st.lists(st.binary(max_size=40) | st.just(b"") | st.sampled_from(
    [b"request", *Request("ping").encode()]), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(envelope_frames)
def test_fuzz_control_envelopes(router_pair, frames):
    fuzz_envelope(router_pair, frames)


@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(envelope_frames)
def test_fuzz_long_control_envelopes(router_pair, frames):
    fuzz_envelope(router_pair, frames)
