"""The machinery every device emulator shares: a TCP (or UDP) server on 127.0.0.1 in one thread,
per-connection input buffers, idle close, and the record a test reads afterwards.

A protocol is a subclass of :class:`TcpEmulator` that implements ``greet(conn)`` (what the device
says when a client connects) and ``handle(conn)`` (consume what ``conn.buffer`` holds, answer
with ``conn.send``/``conn.reply``, log with ``self.command``/``self.refuse``, end with
``conn.close``). Everything the emulator sees is recorded with ``time.monotonic()`` times:

- ``accepts``: one time per accepted TCP connection;
- ``commands``: :class:`Command` per authenticated command (login traffic is not a command);
- ``refused``: :class:`Refusal` per thing the device turned down (wrong password, no login...);
- ``replies``: every reply line sent, without its terminator (``last_reply``);
- ``closes``: (time, connection, "client" or "device") per connection that ended.

``Command.wire_at`` is the kernel's receive stamp (``time.time()`` scale): use it for spacing
between arrivals, where this process's thread scheduling would otherwise add jitter. ``silent``
makes a device hang (it reads, records, answers nothing); ``reply_delay`` makes it slow.
"""

from __future__ import annotations

import secrets
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from tests.support import free_port, wait_for

MAX_BUFFER = 64 * 1024  # a client that sends this much without a line end is cut off
# Linux: have the kernel stamp each received segment (struct timespec, CLOCK_REALTIME), so the
# arrival time of a command does not depend on when this test process's thread got to run.
SO_TIMESTAMPNS = 35


@dataclass(frozen=True)
class Command:
    at: float  # time.monotonic() when the emulator read the bytes
    connection: int  # 1 = the first connection accepted
    text: bytes  # the command without login prefix or terminator
    wire_at: float  # time.time() the kernel received them (``at`` if it cannot say)


@dataclass(frozen=True)
class Refusal:
    at: float
    connection: int
    reason: str
    data: bytes = b""


@dataclass(eq=False)
class Connection:
    """One accepted TCP connection, as the protocol handler sees it."""

    sock: socket.socket
    number: int
    emulator: TcpEmulator
    buffer: bytearray = field(default_factory=bytearray)
    last_input: float = field(default_factory=time.monotonic)
    arrived: float = field(default_factory=time.monotonic)  # time of the latest read
    wire_arrived: float = field(default_factory=time.time)  # the kernel's stamp of it
    stage: str = "start"  # the protocol's own login state
    nonce: str = ""  # the random value of this connection's greeting / challenge
    closed: bool = False
    later: list[tuple[float, bytes, bytes]] = field(default_factory=list)  # (due, text, end)

    def send(self, data: bytes) -> None:
        if self.closed or not data:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.close()

    def reply(self, text: bytes, end: bytes = b"\r\n") -> None:
        """Send one reply line (recorded in the emulator's ``replies``) unless it is silent;
        a slow device (``emulator.reply_delay``) sends it that much later."""
        if self.emulator.silent:
            return
        if self.emulator.reply_delay:
            self.later.append((time.monotonic() + self.emulator.reply_delay, text, end))
            return
        self.emulator.replies.append(text)
        self.send(text + end)

    def send_due(self, now: float) -> None:
        """Send the delayed replies whose time has come (in order)."""
        while self.later and self.later[0][0] <= now and not self.closed:
            _, text, end = self.later.pop(0)
            self.emulator.replies.append(text)
            self.send(text + end)

    def close(self) -> None:
        self.closed = True

    def take_until(self, separator: bytes) -> bytes | None:
        """The buffered bytes up to ``separator`` (consumed with it), or None if not there yet."""
        index = self.buffer.find(separator)
        if index < 0:
            return None
        data = bytes(self.buffer[:index])
        del self.buffer[:index + len(separator)]
        return data

    def take_line(self) -> bytes | None:
        """One line ended by CR, LF or CRLF (empty lines skipped), or None."""
        while True:
            ends = [i for i in (self.buffer.find(b"\r"), self.buffer.find(b"\n")) if i >= 0]
            if not ends:
                return None
            index = min(ends)
            line = bytes(self.buffer[:index])
            width = 2 if self.buffer[index:index + 2] == b"\r\n" else 1
            del self.buffer[:index + width]
            if line:
                return line


class _Served:
    """A socket served by one thread: ``start`` binds it and runs ``_serve`` until ``stop``,
    which joins the thread and closes the socket."""

    name = "device"

    def __init__(self, port: int | None):
        self.port = port or free_port()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = False

    def _open(self) -> socket.socket:
        raise NotImplementedError

    def _serve(self) -> None:
        raise NotImplementedError

    def start(self):
        self._sock = self._open()
        self._running = True
        self._thread = threading.Thread(target=self._serve, name=f"emulator-{self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5)
            assert not self._thread.is_alive(), f"{self.name} emulator thread did not stop"
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TcpEmulator(_Served):
    """A device on a TCP port: subclass and implement ``greet`` and ``handle``."""

    default_idle_close: float | None = None  # seconds of client silence before the device hangs up

    def __init__(self, password: str = "", username: str = "", port: int | None = None,
                 idle_close: float | None = -1.0):
        super().__init__(port)
        self.password = password
        self.username = username
        self.idle_close = self.default_idle_close if idle_close == -1.0 else idle_close
        self.silent = False  # True: read and record, but answer nothing (a hung device)
        self.reply_delay = 0.0  # seconds a reply takes (a slow device)
        self.accepts: list[float] = []
        self.commands: list[Command] = []
        self.refused: list[Refusal] = []
        self.replies: list[bytes] = []
        self.closes: list[tuple[float, int, str]] = []  # (time, connection, who closed)
        self._conns: dict[socket.socket, Connection] = {}

    # ---- protocol hooks --------------------------------------------------------------------

    def greet(self, conn: Connection) -> None:
        """Called once per accepted connection."""

    def handle(self, conn: Connection) -> None:
        """Called after new bytes were appended to ``conn.buffer``."""
        raise NotImplementedError

    # ---- what a protocol records -------------------------------------------------------------

    def command(self, conn: Connection, text: bytes) -> None:
        self.commands.append(Command(conn.arrived, conn.number, text, conn.wire_arrived))

    def refuse(self, conn: Connection, reason: str, data: bytes = b"") -> None:
        self.refused.append(Refusal(conn.arrived, conn.number, reason, data[:200]))

    @staticmethod
    def random_hex(nbytes: int = 4) -> str:
        return secrets.token_hex(nbytes)

    # ---- what a test reads -------------------------------------------------------------------

    @property
    def texts(self) -> list[bytes]:
        return [c.text for c in self.commands]

    @property
    def last_reply(self) -> bytes:
        return self.replies[-1] if self.replies else b""

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    def wait_commands(self, count: int, timeout: float = 10.0) -> list[Command]:
        wait_for(lambda: len(self.commands) >= count, timeout=timeout,
                 message=f"{count} command(s) at the {self.name} emulator "
                         f"(got {self.texts}, refused {self.refused})")
        return list(self.commands)

    # ---- life cycle --------------------------------------------------------------------------

    def _open(self) -> socket.socket:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:  # early: the kernel turns stamping on a moment after it is first asked for
            server.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        server.setblocking(False)
        return server

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        assert self._sock is not None
        selector.register(self._sock, selectors.EVENT_READ)
        try:
            while self._running:
                for key, _ in selector.select(timeout=0.02):
                    if key.fileobj is self._sock:
                        self._accept(selector)
                    else:
                        self._read(self._conns[key.fileobj])  # type: ignore[index]
                self._close_idle()
                now = time.monotonic()
                for conn in self._conns.values():
                    conn.send_due(now)
                for conn in [c for c in self._conns.values() if c.closed]:
                    self._drop(selector, conn, "device")
        finally:
            for conn in list(self._conns.values()):
                self._drop(selector, conn, "device stopped")
            selector.close()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        assert self._sock is not None
        try:
            sock, _ = self._sock.accept()
        except OSError:
            return
        self.accepts.append(time.monotonic())
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass  # not Linux: wire times fall back to read times
        conn = Connection(sock, len(self.accepts), self)
        self._conns[sock] = conn
        selector.register(sock, selectors.EVENT_READ)
        self.greet(conn)

    def _read(self, conn: Connection) -> None:
        try:
            data, ancillary, _, _ = conn.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        except OSError:
            data, ancillary = b"", []
        if not data:
            conn.closed = True
            self.closes.append((time.monotonic(), conn.number, "client"))
            return
        conn.arrived = conn.last_input = time.monotonic()
        conn.wire_arrived = time.time()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                conn.wire_arrived = seconds + nanoseconds / 1e9
        conn.buffer += data
        if not conn.closed:
            self.handle(conn)
        if len(conn.buffer) > MAX_BUFFER:
            self.refuse(conn, "input without an end", bytes(conn.buffer[:200]))
            conn.close()

    def _close_idle(self) -> None:
        if self.idle_close is None:
            return
        now = time.monotonic()
        for conn in self._conns.values():
            if not conn.closed and now - conn.last_input >= self.idle_close:
                conn.close()

    def _drop(self, selector: selectors.BaseSelector, conn: Connection, who: str) -> None:
        selector.unregister(conn.sock)
        del self._conns[conn.sock]
        if not self.closes or self.closes[-1][1] != conn.number:
            self.closes.append((time.monotonic(), conn.number, who))
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.sock.close()


class LineEmulator(TcpEmulator):
    """A device whose input is lines ended by CR, LF or CRLF: ``line(conn, text)`` per line."""

    def handle(self, conn: Connection) -> None:
        while not conn.closed and (line := conn.take_line()) is not None:
            self.line(conn, line)

    def line(self, conn: Connection, text: bytes) -> None:
        raise NotImplementedError


class UdpEmulator(_Served):
    """A device that takes UDP datagrams: each one recorded whole, optionally answered."""

    name = "udp"

    def __init__(self, reply: bytes = b"", port: int | None = None):
        super().__init__(port)
        self.reply = reply
        self.datagrams: list[tuple[float, bytes, tuple[str, int]]] = []

    @property
    def payloads(self) -> list[bytes]:
        return [d[1] for d in self.datagrams]

    def _open(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", self.port))
        sock.settimeout(0.05)
        return sock

    def _serve(self) -> None:
        assert self._sock is not None
        while self._running:
            try:
                data, peer = self._sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                continue  # an ICMP error from an earlier reply; keep serving
            self.datagrams.append((time.monotonic(), data, peer))
            if self.reply:
                try:
                    self._sock.sendto(self.reply, peer)
                except OSError:
                    pass
