"""Feedback end to end under supervisord: device replies, states and errors reach the feedback
targets (a UDP socket, liblo's oscdump, a TCP target) and the TCP client that sent the cue;
queries answer the asker; dead targets change nothing for delivery; a flood is rate-limited.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import pytest

from oscar import osc_decode
from oscar.framing import LengthPrefixDecoder, SlipDecoder, length_prefix_encode, slip_encode
from tests.support import FakeDevice, OscarSystem, free_port, stop_and_clean, wait_for
from tests.unit.osc_corpus import IMMEDIATELY, bundle, msg, pad

OSCDUMP = shutil.which("oscdump")


class Recorder:
    """Records every OSC message that arrives on ``self.sock``, as (address, args), in a thread
    that ``_start`` starts: ``_serve`` reads until ``close``, handing what it reads to
    ``_received`` (False: the peer is gone, stop reading)."""

    sock: socket.socket

    def _start(self) -> None:
        self.messages: list[tuple[str, list]] = []
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self._running:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._received(data):
                return

    def _received(self, data: bytes) -> bool:
        raise NotImplementedError

    def _record(self, packet: bytes) -> None:
        for message in osc_decode.decode_packet(packet):
            self.messages.append((message.address, [v for _, v in message.args]))

    def having(self, address: str) -> list[list]:
        return [args for addr, args in list(self.messages) if addr == address]

    def wait(self, address: str, args: list | None = None, timeout: float = 15) -> list:
        def found():
            for got in self.having(address):
                if args is None or got == args:
                    return got
            return None
        try:
            return wait_for(found, timeout=timeout)
        except AssertionError:
            raise AssertionError(f"{address} {args} never arrived; got "
                                 f"{self.messages[-30:]}") from None

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2)
        self.sock.close()


class UdpTarget(Recorder):
    """A udp:// feedback target."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._start()

    def _received(self, data: bytes) -> bool:
        self._record(data)
        return True


class OscTcpClient(Recorder):
    """An OSC TCP (SLIP) client of the listener, like QLab: sends cues, reads what comes back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(0.1)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self._decoder = SlipDecoder()
        self._start()

    def send(self, packet: bytes) -> None:
        self.sock.sendall(slip_encode(packet))

    def _received(self, data: bytes) -> bool:
        if not data:
            return False  # the listener closed the connection
        for frame in self._decoder.feed(data):
            self._record(frame)
        return True


class TcpTargetServer(Recorder):
    """A tcp:// feedback target (like Companion listening for SLIP OSC); ``sock`` listens."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.connections = 0
        self._start()

    def _serve(self) -> None:
        conn = None
        decoder = SlipDecoder()
        while self._running:
            if conn is None:
                try:
                    conn, _ = self.sock.accept()
                except TimeoutError:
                    continue
                conn.settimeout(0.1)
                self.connections += 1
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            if not data:
                conn.close()
                conn = None
                continue
            for frame in decoder.feed(data):
                self._record(frame)
        if conn is not None:
            conn.close()


def cue(name: str, text: str) -> bytes:
    return msg(f"/device/{name}/message", ",s", pad(text.encode()))


def query(address: str) -> bytes:
    return msg(address, ",")


@pytest.fixture
def targets():
    made: list = []
    yield made
    for item in made:
        (item.stop if isinstance(item, FakeDevice) else item.close)()


@pytest.fixture
def oscdump():
    if OSCDUMP is None:
        pytest.skip("liblo's oscdump is not installed (apt package liblo-tools; "
                    "scripts/system-deps.sh installs it)")
    port = free_port()
    out = open(f"/tmp/oscdump-{port}.txt", "w+")
    proc = subprocess.Popen([OSCDUMP, "-L", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        yield port, out
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        out.close()
        import os
        os.unlink(out.name)


def test_replies_states_errors_and_queries_reach_targets_and_the_sender(request, targets,
                                                                        oscdump):
    udp = UdpTarget()
    targets.append(udp)
    dump_port, dump_out = oscdump
    tcp_port = free_port()  # nobody listens yet: the target reconnects until someone does
    dead_tcp = free_port()  # nobody ever listens here
    feedback = (f"udp://127.0.0.1:{udp.port}, udp://127.0.0.1:{dump_port}, "
                f"tcp://127.0.0.1:{tcp_port}, tcp://127.0.0.1:{dead_tcp}, "
                "udp://oscar-feedback.invalid:9000")
    system = OscarSystem(extra_env={"OSCAR_FEEDBACK": feedback}).start()
    proj = FakeDevice(reply=b"%1POWR=1\r").start()
    targets.append(proj)
    try:
        system.add_device("proj", proj.port, terminator="\\r")
        # every state change of the device reaches the target, ending with ready
        udp.wait("/oscar/device/proj/state", ["ready"])
        states = [args[0] for args in udp.having("/oscar/device/proj/state")]
        assert states[-1] == "ready" and len(states) == len(set(states)), states

        # a cue from a TCP client: the reply comes back on that connection and to the targets
        client = OscTcpClient(system.osc_port)
        targets.append(client)
        client.send(cue("proj", "%1POWR 1"))
        client.wait("/oscar/device/proj/reply", ["%1POWR=1"])
        udp.wait("/oscar/device/proj/reply", ["%1POWR=1"])
        # the client got every device's state once its first packet told its framing
        assert client.having("/oscar/device/proj/state")[0] == ["ready"]
        wait_for(lambda: '/oscar/device/proj/reply s "%1POWR=1"' in open(dump_out.name).read(),
                 timeout=10, message="oscdump to print the reply")

        # a TCP target that starts listening late: reconnect with backoff, then the states
        late = TcpTargetServer(tcp_port)
        targets.append(late)
        late.wait("/oscar/device/proj/state", ["ready"], timeout=20)
        client.send(cue("proj", "%1POWR ?"))
        late.wait("/oscar/device/proj/reply", ["%1POWR=1"])

        # refusals: for a known device, for no device
        client.send(msg("/device/proj/power", ",s", pad(b"on")))
        error = udp.wait("/oscar/device/proj/error")
        assert error[0].startswith("unknown_verb"), error
        client.wait("/oscar/device/proj/error")
        client.send(cue("nope", "x"))
        assert udp.wait("/oscar/error")[0].startswith("unknown_device"), udp.having("/oscar/error")

        # queries answer the asker: TCP on its connection, UDP to its address and port
        def sent_twice():
            client.send(query("/device/proj/query"))
            time.sleep(0.1)
            answers = client.having("/oscar/device/proj/status")
            return answers and answers[-1][1] == 2 and answers[-1]
        # state, sent, dropped, waiting, replies, last reply, last error (this actor run)
        status = wait_for(sent_twice, timeout=10, message="query to count 2 sent")
        assert status[:6] == ["ready", 2, 0, 0, 2, "%1POWR=1"], status
        asker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        asker.bind(("127.0.0.1", 0))
        asker.settimeout(5)
        with asker:
            asker.sendto(query("/oscar/check"), ("127.0.0.1", system.osc_port))
            answer = osc_decode.decode_packet(asker.recv(65536))[0]
            assert (answer.address, answer.args) == ("/oscar/check", (("s", "ok"),))
            asker.sendto(bundle(IMMEDIATELY, query("/device/proj/query")),
                         ("127.0.0.1", system.osc_port))
            answer = osc_decode.decode_packet(asker.recv(65536))[0]
            assert answer.address == "/oscar/device/proj/status"
            assert answer.args[0] == ("s", "ready")
        assert udp.having("/oscar/device/proj/status") == []  # answers go to the asker only
        # a length-prefix client (liblo's TCP default) gets length-prefixed packets back
        with socket.create_connection(("127.0.0.1", system.osc_port), timeout=5) as framed:
            framed.sendall(length_prefix_encode(query("/device/proj/query")))
            decoder = LengthPrefixDecoder()
            got: list[str] = []
            while "/oscar/device/proj/status" not in got:
                data = framed.recv(65536)
                assert data, f"connection closed; got {got}"
                got += [osc_decode.decode_packet(f)[0].address for f in decoder.feed(data)]
            # every device's state first (it spoke), then the answer
            assert got == ["/oscar/device/proj/state", "/oscar/device/proj/status"], got

        # a device that cannot connect: check says so, and its errors name it
        system.add_device("gone", free_port())
        udp.wait("/oscar/device/gone/state", ["waiting"])
        assert udp.wait("/oscar/device/gone/error")[0].startswith("cannot connect")
        client.send(query("/oscar/check"))
        wait_for(lambda: ["not_ready", "gone waiting"] in client.having("/oscar/check"),
                 timeout=10, message=f"check to list gone: {client.having('/oscar/check')}")

        # disabling is a state change; a disabled device does not fail the check
        system.call("disable", name="gone")
        udp.wait("/oscar/device/gone/state", ["disabled"])
        client.send(query("/oscar/check"))
        wait_for(lambda: client.having("/oscar/check")[-1] == ["ok"], timeout=10)

        # the dead and unresolvable targets changed nothing for delivery
        before = len(proj.lines())
        for index in range(200):
            client.send(cue("proj", f"CUE {index}"))
        wait_for(lambda: len(proj.lines()) == before + 200, timeout=20,
                 message="200 cues at the device")
        wait_for(lambda: system.device_status("proj")["sent"] == before + 200, timeout=10)
        counters = wait_for(lambda: (c := system.listener_counters())
                            and c["forwarded"] == before + 200 and c, timeout=10)
        assert counters["expired"] == counters["queue_full"] == 0
        assert counters["feedback_sent"] > 0
        # the dead and unresolved targets hold what they could not send (bounded)
        assert 0 < counters["feedback_queued"] <= 2 * 1000, counters
        # what the listener reported: 'received' events, batched, never one per cue
        def received():
            return [e for e in system.call("activity", device="proj", limit=2000)
                    if e["event"] == "received"]
        wait_for(lambda: sum(_count(e["detail"]) for e in received()) == before + 200,
                 timeout=10, message=f"received events to count every cue: {received()}")
        assert len(received()) < 100, len(received())
    finally:
        stop_and_clean(system, request)


def _count(detail: str) -> int:
    return 1 if detail.startswith("cue received: ") else int(detail.split(" ", 1)[0])


def test_a_flooding_device_is_rate_limited_with_a_summary(request, targets):
    udp = UdpTarget()
    targets.append(udp)
    system = OscarSystem(extra_env={"OSCAR_FEEDBACK": f"udp://127.0.0.1:{udp.port}"}).start()
    chatty = FakeDevice(reply=b"".join(b"LINE %d\r\n" % i for i in range(400))).start()
    targets.append(chatty)
    try:
        system.add_device("chatty", chatty.port, terminator="\\r")
        udp.wait("/oscar/device/chatty/state", ["ready"])
        system.send_udp(cue("chatty", "GO"))
        summary = udp.wait("/oscar/device/chatty/error", timeout=15)
        assert "more replies within a second" in summary[0], summary
        replies = udp.having("/oscar/device/chatty/reply")
        assert 0 < len(replies) <= 60, len(replies)
        assert replies[0] == ["LINE 0"]  # in order, from the first
        counters = system.listener_counters()
        wait_for(lambda: system.listener_counters().get("feedback_rate_limited", 0) >= 300,
                 timeout=10, message=f"rate-limited count: {counters}")
        # a binary reply line arrives as a blob with its bytes
        binary = FakeDevice(reply=b"\x02\xffPON\x03\r").start()
        targets.append(binary)
        system.add_device("binary", binary.port, terminator="\\r")
        udp.wait("/oscar/device/binary/state", ["ready"])
        system.send_udp(cue("binary", "PON?"))
        udp.wait("/oscar/device/binary/reply", [b"\x02\xffPON\x03"])
    finally:
        stop_and_clean(system, request)


def test_targets_set_through_the_registry_replace_the_setting(request, targets):
    first, second = UdpTarget(), UdpTarget()
    targets += [first, second]
    system = OscarSystem(extra_env={"OSCAR_FEEDBACK": f"udp://127.0.0.1:{first.port}"}).start()
    device = FakeDevice().start()
    targets.append(device)
    try:
        system.add_device("proj", device.port)
        first.wait("/oscar/device/proj/state", ["ready"])
        # `oscar feedback set`: the new target gets every device's state at once
        result = system.cli("feedback", "set", f"udp://127.0.0.1:{second.port}")
        assert result.returncode == 0, result.stderr
        second.wait("/oscar/device/proj/state", ["ready"])
        # ... and the old one nothing more
        seen = len(first.messages)
        system.call("disable", name="proj")
        second.wait("/oscar/device/proj/state", ["disabled"])
        assert len(first.messages) == seen
        # none: feedback off
        system.call("feedback_set", targets=[])
        system.call("enable", name="proj")
        system.wait_state("proj", "ready")
        time.sleep(1)
        assert ["ready"] not in second.having("/oscar/device/proj/state")[1:]
    finally:
        stop_and_clean(system, request)
