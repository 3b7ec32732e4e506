"""The listener end to end under supervisord: verbs, patterns, groups, hostile packets, liblo's
oscsend, ``oscar send`` and its exit codes, bundle timetags, TCP client limits, the allow-list.

Each test starts one whole Oscar and checks several things in it (a start costs seconds).
"""

from __future__ import annotations

import collections
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from oscar import osc_decode, osc_send
from oscar.framing import slip_encode
from tests.support import FakeDevice, OscarSystem, free_port, wait_for
from tests.unit import osc_corpus
from tests.unit.osc_corpus import bundle, msg, pad

OSCSEND = shutil.which("oscsend")


def ask(oscar: OscarSystem, address: str, *args, tcp: bool = False) -> osc_send.Receipt:
    """Send one cue like ``oscar send`` does and return the listener's receipt."""
    scope, target, verb = address.strip("/").split("/")
    request = osc_send.Request(target=target, args=list(args), verb=verb, scope=scope, tcp=tcp)
    return osc_send.ask(request, oscar.osc_port)


def wait_routable(oscar: OscarSystem, *names: str) -> None:
    """Until the listener knows each device as enabled. A bad hex payload is refused only after
    the device was found (``bad_hex``, not ``unknown_device``), and sends nothing."""
    for name in names:
        wait_for(lambda n=name: ask(oscar, f"/device/{n}/hex", ("s", "zz")).detail
                 .startswith("bad_hex"), timeout=15, message=f"listener to know {name}")


def wait_bytes(*pairs: tuple[FakeDevice, bytes], timeout: float = 10) -> None:
    """Until each fake device has received exactly its bytes; says what arrived if not."""
    try:
        wait_for(lambda: all(bytes(fake.received) == data for fake, data in pairs),
                 timeout=timeout)
    except AssertionError:
        got = [bytes(fake.received) for fake, _ in pairs]
        raise AssertionError(f"expected {[d for _, d in pairs]!r}, got {got!r}") from None


def counters_reach(oscar: OscarSystem, expected: dict[str, int]) -> dict[str, int]:
    def check():
        counters = oscar.listener_counters()
        return all(counters.get(k, 0) >= v for k, v in expected.items()) and counters
    return wait_for(check, timeout=15, message=f"listener counters to reach {expected}")


def test_verbs_patterns_groups_hostile_packets_and_oscar_send(oscar):
    with FakeDevice() as p1, FakeDevice() as p2, FakeDevice() as r1, FakeDevice() as p3:
        oscar.add_device("p1", p1.port, tags=["proj", "stage"])
        oscar.add_device("p2", p2.port, tags=["proj"])
        oscar.add_device("r1", r1.port, tags=["stage"])
        oscar.call("add", device={"name": "p3", "host": "127.0.0.1", "port": p3.port,
                                  "enabled": False, "tags": ["proj"]})
        wait_routable(oscar, "p1", "p2", "r1")

        # raw and hex: exact bytes, no terminator; then fan-out by pattern and by group, over
        # UDP and over TCP (SLIP), in name order, never to the disabled p3.
        # (Each step waits for its bytes: cues on different connections have no mutual order.)
        oscar.send_udp(msg("/device/p1/raw", ",s", pad(b"TAKE 1\\r")))
        oscar.send_udp(msg("/device/p1/hex", ",s", pad(b"BE EF 03")))
        oscar.send_udp(msg("/device/p*/message", ",s", pad(b"A")))
        wait_bytes((p1, b"TAKE 1\r\xbe\xef\x03A\r"), (p2, b"A\r"), (r1, b""))
        oscar.send_tcp(slip_encode(msg("/device/{r1,p1}/message", ",s", pad(b"B"))))
        wait_bytes((p1, b"TAKE 1\r\xbe\xef\x03A\rB\r"), (p2, b"A\r"), (r1, b"B\r"))
        oscar.send_udp(msg("/group/stage/message", ",s", pad(b"C")))
        wait_bytes((p1, b"TAKE 1\r\xbe\xef\x03A\rB\rC\r"), (p2, b"A\r"), (r1, b"B\rC\r"))
        oscar.send_tcp(slip_encode(msg("/group/pro?/raw", ",s", pad(b"D"))))
        wait_bytes((p1, b"TAKE 1\r\xbe\xef\x03A\rB\rC\rD"), (p2, b"A\rD"), (r1, b"B\rC\r"))

        # oscar send: what was forwarded, exit 0; refusals exit 5 with the listener's reason.
        result = oscar.cli("send", "--tcp", "--group", "proj", "-i", "3", "X", "-T")
        assert result.returncode == 0, result.stderr
        assert "forwarded to 2 devices: p1, p2" in result.stdout
        assert "sent" not in result.stdout
        for argv, reason in ((["ghost", "x"], "unknown_device"), (["p3", "x"], "disabled"),
                             (["--hex", "p1", "BEE"], "bad_hex"),
                             (["--tcp", "nobody*", "x"], "unknown_device")):
            result = oscar.cli("send", *argv)
            assert result.returncode == 5, (argv, result.stdout, result.stderr)
            assert reason in result.stderr and "refused" in result.stderr
        result = oscar.cli("send", "p1", "x", "--port", "99999")
        assert result.returncode == 2 and "1-65535" in result.stderr
        assert "Traceback" not in result.stderr
        for transport in ([], ["--tcp"]):
            result = oscar.cli("send", *transport, "p1", "x", "--port", str(free_port()))
            assert result.returncode == 3, result.stderr
            assert "Oscar is not running / the listener did not answer" in result.stderr
        wait_bytes((p2, b"A\rD3 X true\r"))
        before = bytes(p1.received)

        # Every hostile packet of the codec's corpus, each followed by a valid cue that must
        # arrive; nothing else reaches the device.
        hostile = osc_corpus.hostile("p1")
        for index, packet in enumerate(hostile.values()):
            if len(packet) <= 65000:
                oscar.send_udp(packet)
            else:
                oscar.send_tcp(slip_encode(packet))
            oscar.send_udp(msg("/device/p1/message", ",s", pad(f"ok{index}".encode())))
        expected = before + b"".join(f"ok{i}\r".encode() for i in range(len(hostile)))
        wait_bytes((p1, expected), timeout=20)
        refused = collections.Counter(osc_corpus.HOSTILE_COUNTER[name] for name in hostile)
        counters_reach(oscar, dict(refused))  # each counted under its documented reason

        # The corpus of exact renderings (python-osc's wrong-byte bugs) arrives byte for byte.
        mark = len(p1.received)
        wanted = b""
        for packet, data, terminated in osc_corpus.exact("p1").values():
            oscar.send_udp(packet)
            wanted += data + (b"\r" if terminated else b"")
        wait_bytes((p1, bytes(p1.received[:mark]) + wanted))

        # A refused cue leaves nothing at the device and raises its counter.
        counters = oscar.listener_counters()
        mark = len(p1.received)
        oscar.send_udp(msg("/device/p1/hex", ",s", pad(b"BEEG")))
        oscar.send_udp(msg("/device/p1/message", ",sN", pad(b"POWR")))
        oscar.send_udp(msg("/device/p1/message", ",s", pad(b"after")))
        counters_reach(oscar, {"bad_hex": counters.get("bad_hex", 0) + 1,
                               "wrong_type": counters.get("wrong_type", 0) + 1})
        wait_bytes((p1, bytes(p1.received[:mark]) + b"after\r"))

        assert bytes(p3.received) == b""
        final = counters_reach(oscar, {"not_allowed": 0})
        assert final["internal_error"] == 0


@pytest.mark.skipif(OSCSEND is None, reason="liblo's oscsend is not installed "
                    "(apt-get install liblo-tools)")
def test_oscsend_every_tag_it_supports(oscar, device):
    oscar.add_device("lo", device.port)
    wait_routable(oscar, "lo")
    target = ["127.0.0.1", str(oscar.osc_port), "/device/lo/message"]
    cases = [  # oscsend types and values -> bytes at the device (None: refused, nothing sent)
        (["i", "42"], b"42"), (["h", "9000000000"], b"9000000000"), (["f", "0.1"], b"0.1"),
        (["f", "3.4028235e38"], b"3.4028235e+38"), (["d", "2.25"], b"2.25"),
        (["s", "hello world"], b"hello world"), (["S", "sym"], b"sym"), (["c", "A"], b"A"),
        (["T"], b"true"), (["F"], b"false"), (["sSs", "PRE", "sym", "POST"], b"PRE sym POST"),
        (["Si", "sym", "5"], b"sym 5"), (["ci", "A", "5"], b"A 5"),
        (["sT", "MUTE"], b"MUTE true"),
        (["m", "00903c64"], None), (["sN", "X"], None), (["sI", "X"], None),
    ]
    expected = b""
    for index, (args, data) in enumerate(cases):
        subprocess.run([OSCSEND, *target, *args], check=True, timeout=10)
        subprocess.run([OSCSEND, *target, "s", f"#{index}"], check=True, timeout=10)
        expected += (data + b"\r" if data is not None else b"") + f"#{index}\r".encode()
    # liblo over TCP: length-prefixed framing
    subprocess.run([OSCSEND, f"osc.tcp://127.0.0.1:{oscar.osc_port}", "/device/lo/raw", "si",
                    "TCP", "7"], check=True, timeout=10)
    expected += b"TCP 7"
    wait_bytes((device, expected), timeout=20)
    counters = counters_reach(oscar, {"wrong_type": 3})
    assert counters["malformed"] == 0


class Arrivals:
    """When each cue reached a fake device (wall clock)."""

    def __init__(self):
        self.times: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, data: bytes) -> None:
        with self.lock:
            self.times.append((time.time(), data))

    def first(self, needle: bytes) -> float | None:
        with self.lock:
            return next((t for t, data in self.times if needle in data), None)


def test_bundles_scheduled_cancelled_survive_actor_kill_and_tcp_limits():
    system = OscarSystem(extra_env={"OSCAR_OSC_TCP_MAX_CLIENTS": "256",
                                    "OSCAR_OSC_TCP_IDLE_TIMEOUT": "5"})
    arrivals = {name: Arrivals() for name in ("s1", "s2", "s3")}
    devices = {name: FakeDevice(on_data=arrivals[name]).start() for name in arrivals}
    try:
        system.start()
        for name, fake in devices.items():
            system.add_device(name, fake.port)
        wait_routable(system, *devices)

        t0 = time.time()
        at = osc_decode.unix_to_ntp
        system.send_udp(bundle(at(t0 + 2).to_bytes(8, "big"),
                               msg("/device/s1/message", ",s", pad(b"AT2")),
                               msg("/device/s1/message", ",s", pad(b"AT2-second")),
                               msg("/device/s1/message", ",s", pad(b"AT2-third"))))
        system.send_tcp(slip_encode(bundle(at(t0 + 3).to_bytes(8, "big"),
                                           msg("/device/s2/message", ",s", pad(b"AT3")))))
        system.send_udp(bundle(at(t0 + 8).to_bytes(8, "big"),
                               msg("/device/s3/message", ",s", pad(b"NEVER"))))
        system.send_udp(bundle(at(t0 + 7200).to_bytes(8, "big"),
                               msg("/device/s1/message", ",s", pad(b"TOO FAR"))))
        system.send_udp(bundle(at(t0 - 5).to_bytes(8, "big"),  # in the past: at once
                               msg("/device/s1/message", ",s", pad(b"PAST"))))
        # The actor of s2 dies with its cue pending: the listener holds it until due.
        actor = system.pid_of("oscar-device-s2")
        subprocess.run(["kill", "-9", str(actor)], check=True)

        counters_reach(system, {"scheduled": 1, "too_far_ahead": 1})
        status = system.cli("status")
        assert re.search(r"listener: .*, [1-5] scheduled", status.stdout), status.stdout
        system.call("disable", name="s3")
        counters_reach(system, {"cancelled": 1})

        wait_for(lambda: arrivals["s1"].first(b"AT2-third"), timeout=6, message="AT2")
        wait_for(lambda: arrivals["s2"].first(b"AT3"), timeout=10, message="AT3 after kill")
        late2 = arrivals["s1"].first(b"AT2") - t0
        late3 = arrivals["s2"].first(b"AT3") - t0
        assert 1.9 <= late2 <= 2.6, f"bundle dated +2s arrived at +{late2:.3f}s"
        assert 2.9 <= late3 <= 4.5, f"bundle dated +3s arrived at +{late3:.3f}s"
        assert arrivals["s1"].first(b"PAST") - t0 < 1.5
        assert bytes(devices["s1"].received) == b"PAST\rAT2\rAT2-second\rAT2-third\r"
        assert system.pid_of("oscar-device-s2") != actor

        # 300 idle TCP connections do not lock out a TCP cue: the oldest idle ones make room.
        idle = []
        try:
            for _ in range(300):
                idle.append(socket.create_connection(("127.0.0.1", system.osc_port), timeout=5))
            system.send_tcp(slip_encode(msg("/device/s1/message", ",s", pad(b"TCP OK"))))
            wait_for(lambda: b"TCP OK\r" in devices["s1"].received, message="TCP cue")
            receipt = ask(system, "/device/s1/raw", ("s", "!"), tcp=True)
            assert receipt.status == "ok", receipt
            counters_reach(system, {"tcp_evicted": 45})
            # and a silent client is closed after the idle timeout (5 s here)
            idle[-1].settimeout(10)
            assert idle[-1].recv(10) == b""
            counters_reach(system, {"tcp_idle_closed": 1})
        finally:
            for sock in idle:
                sock.close()
        counters = counters_reach(system, {"cancelled": 1})
        assert counters["scheduled"] == 0
        time.sleep(max(0.0, t0 + 8.5 - time.time()))
        assert bytes(devices["s3"].received) == b""
        assert counters["internal_error"] == 0
    finally:
        for fake in devices.values():
            fake.stop()
        system.stop()
        shutil.rmtree(system.home, ignore_errors=True)


def test_allow_list_refuses_others_over_udp_and_tcp():
    # Dual-stack listener: IPv4 senders arrive as ::ffff:127.0.0.x and are checked as IPv4.
    system = OscarSystem(extra_env={"OSCAR_OSC_ALLOW": "10.9.9.9, 127.0.0.2",
                                    "OSCAR_OSC_HOST": "::"})
    fake = FakeDevice().start()
    try:
        system.start()
        system.add_device("d", fake.port)
        system.wait_state("d", "ready")
        system.send_udp(msg("/device/d/message", ",s", pad(b"UDP")))  # from 127.0.0.1
        system.send_tcp(slip_encode(msg("/device/d/message", ",s", pad(b"TCP"))))
        result = system.cli("send", "d", "x")
        assert result.returncode == 3, result.stderr
        assert "osc_allow" in result.stderr
        counters = counters_reach(system, {"not_allowed": 3})
        assert counters["forwarded"] == 0 and counters["tcp_connections"] == 0
        assert bytes(fake.received) == b""

        # 127.0.0.2 is on the list, over UDP and TCP
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.2", 0))
            sock.sendto(msg("/device/d/message", ",s", pad(b"UDP2")),
                        ("127.0.0.1", system.osc_port))
        wait_bytes((fake, b"UDP2\r"))
        with socket.create_connection(("127.0.0.1", system.osc_port), timeout=5,
                                      source_address=("127.0.0.2", 0)) as sock:
            sock.sendall(slip_encode(msg("/device/d/message", ",s", pad(b"TCP2"))))
        wait_bytes((fake, b"UDP2\rTCP2\r"))
        counters = counters_reach(system, {"forwarded": 2, "tcp_connections": 1})
        assert counters["not_allowed"] == 3
    finally:
        fake.stop()
        system.stop()
        shutil.rmtree(system.home, ignore_errors=True)
