"""Feedback targets over real sockets on 127.0.0.1, driven by a zmq.Poller as the listener
drives them: UDP datagrams, SLIP over TCP, reconnection, bounded outboxes."""

import socket
import time

import pytest
import zmq

from oscar import feedback_links
from oscar.feedback_links import Links
from oscar.feedback_targets import Target
from oscar.framing import SlipDecoder
from oscar.osc_decode import decode_packet, encode_message
from tests.support import free_port


def packet(n: int, size: int = 0) -> bytes:
    return encode_message("/oscar/device/p/reply", [("s", f"L{n}" + "x" * size)])


class Loop:
    """The listener's part: poll, hand events to the links, tick."""

    def __init__(self):
        self.poller = zmq.Poller()
        self.counters: dict[str, int] = {}
        self.ready: list[str] = []
        self.links = Links(self.poller, self.counters,
                           on_ready_target=lambda link: self.ready.append(str(link)))

    def turn(self, timeout_ms: int = 20) -> None:
        for fd, flags in self.poller.poll(timeout_ms):
            if self.links.owns(fd):
                self.links.on_ready(fd, flags)
        self.links.tick()

    def until(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.turn()
            result = predicate()
            if result:
                return result
        raise AssertionError("condition not met")


@pytest.fixture
def loop():
    made = Loop()
    yield made
    made.links.close()


def udp_receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return sock


def test_udp_target_gets_one_datagram_per_packet(loop):
    with udp_receiver() as receiver:
        port = receiver.getsockname()[1]
        (link,) = loop.links.set_targets([Target("udp", "127.0.0.1", port)])
        assert link.state == "ready" and loop.ready == [f"udp://127.0.0.1:{port}"]
        for n in range(3):
            loop.links.send(packet(n))
        got = [decode_packet(receiver.recv(65536))[0].args[0][1] for _ in range(3)]
        assert got == ["L0", "L1", "L2"]
        assert loop.counters["feedback_sent"] == 3 and loop.counters["feedback_dropped"] == 0


def test_udp_target_by_name_is_resolved_without_blocking(loop):
    with udp_receiver() as receiver:
        port = receiver.getsockname()[1]
        (link,) = loop.links.set_targets([Target("udp", "localhost", port)])
        loop.links.send(packet(1))  # queued while the name is looked up in the background
        assert link.state in ("resolving", "ready")
        loop.until(lambda: link.state == "ready")
        if link.address[0] == socket.AF_INET:  # localhost may resolve to ::1 first
            assert decode_packet(receiver.recv(65536))[0].args[0][1] == "L1"
        assert loop.counters["feedback_queued"] == 0


def test_udp_target_that_does_not_resolve_waits_and_retries(loop):
    (link,) = loop.links.set_targets([Target("udp", "oscar-test.invalid", 9)])
    loop.links.send(packet(1))
    loop.until(lambda: link.state == "waiting", timeout=30)
    assert "cannot resolve" in link.last_error
    assert loop.counters["feedback_queued"] == 1  # kept (bounded) until it resolves


def test_udp_target_with_nobody_listening_loses_datagrams_not_time(loop):
    port = free_port()
    loop.links.set_targets([Target("udp", "127.0.0.1", port)])
    started = time.monotonic()
    for n in range(500):
        loop.links.send(packet(n))
    assert time.monotonic() - started < 2
    assert loop.counters["feedback_sent"] + loop.counters["feedback_dropped"] == 500


def read_slip(conn: socket.socket, count: int) -> list[bytes]:
    decoder = SlipDecoder()
    raw = b""
    frames: list[bytes] = []
    conn.settimeout(5)
    while len(frames) < count:
        data = conn.recv(65536)
        assert data, "target connection closed"
        raw += data
        frames += decoder.feed(data)
    return frames, raw


def test_tcp_target_gets_slip_frames_and_reconnects_with_backoff(loop):
    port = free_port()
    (link,) = loop.links.set_targets([Target("tcp", "127.0.0.1", port)])
    loop.until(lambda: link.state == "waiting")  # refused: nobody listens yet
    assert "refused" in link.last_error.lower()
    loop.links.send(packet(1))  # queued meanwhile
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)
        loop.until(lambda: link.state == "connected", timeout=15)
        assert loop.ready == [f"tcp://127.0.0.1:{port}"]
        conn, _ = server.accept()
        with conn:
            loop.links.send(packet(2))
            loop.turn()
            frames, raw = read_slip(conn, 2)
            assert raw.startswith(b"\xc0") and raw.endswith(b"\xc0")  # double END framing
            assert [decode_packet(f)[0].args[0][1] for f in frames] == ["L1", "L2"]
        # the target goes away: the link notices and tries again
        loop.until(lambda: link.state != "connected")
        loop.links.send(packet(3))
        loop.until(lambda: link.state == "connected", timeout=15)
        conn, _ = server.accept()
        with conn:
            loop.turn()
            frames, _ = read_slip(conn, 1)
            assert decode_packet(frames[0])[0].args[0][1] == "L3"
    assert loop.counters["feedback_sent"] == 3


def test_tcp_target_that_never_reads_has_a_bounded_outbox(loop):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        (link,) = loop.links.set_targets([Target("tcp", "127.0.0.1", server.getsockname()[1])])
        loop.until(lambda: link.state == "connected")
        count = 20_000
        started = time.monotonic()
        for n in range(count):
            loop.links.send(packet(n, 200))
            if n % 500 == 0:
                loop.turn(0)
        elapsed = time.monotonic() - started
        counters = loop.counters
        assert counters["feedback_dropped"] > 0
        assert len(link.outbox) <= feedback_links.OUTBOX_PACKETS
        assert link.outbox_bytes <= feedback_links.OUTBOX_BYTES
        assert counters["feedback_queued"] == len(link.outbox)
        in_hand = 1 if link.current else 0  # a frame partly written
        assert (counters["feedback_sent"] + counters["feedback_dropped"]
                + counters["feedback_queued"] + in_hand) == count
        assert elapsed < 10  # never waited for the target
        loop.links.set_targets([])  # removing a target drops and counts what it held
        assert counters["feedback_queued"] == 0
        assert counters["feedback_sent"] + counters["feedback_dropped"] == count


def test_removed_and_changed_targets(loop):
    with udp_receiver() as a, udp_receiver() as b:
        ta = Target("udp", "127.0.0.1", a.getsockname()[1])
        tb = Target("udp", "127.0.0.1", b.getsockname()[1])
        loop.links.set_targets([ta])
        assert loop.links.set_targets([ta, tb])[0].target == tb  # only the new one is new
        loop.links.set_targets([tb])
        assert list(loop.links.links) == [tb]
        loop.links.send(packet(7))
        assert decode_packet(b.recv(65536))[0].args[0][1] == "L7"
