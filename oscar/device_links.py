"""One open socket to a device and what belongs to it alone.

``TcpLink``: the connection's in-flight commands (``InFlight``, by byte count), bytes that are
no command waiting to be written (login answers, on_connect, keep-alive: ``control``), the
login session and its command prefix, the reply framing and the connection's timers.

``UdpLink``: a connected datagram socket; each command is one datagram, taken when ``send``
succeeds, so nothing is ever in flight.

The actor decides what to write and when; a link holds the per-connection state, so a new
connection starts clean.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

from oscar.command_queue import InFlight, Pending
from oscar.devices.login_base import Step
from oscar.devices.reply_lines import ReplyLines
from oscar.link_watch import LinkWatch, WatchConfig

NEVER_IN_FLIGHT = InFlight()  # what a link without a connection (or UDP) has in flight
NO_LOGIN = Step(state="ready")


class TcpLink:
    udp = False

    def __init__(self, sock: socket.socket, unacked: Callable[[socket.socket], int],
                 reply_terminator: bytes, watch: WatchConfig, now: float):
        self.sock = sock
        self._unacked = unacked
        self.wire = InFlight()
        self.control = bytearray()  # bytes that are no command, to write before the next one
        self.lines = ReplyLines(reply_terminator)
        self.watch = LinkWatch(watch, now)
        self.session: Any = None  # the LoginSession, None when the device needs no login
        self.prefix = b""
        self.prefix_every = False
        self.connected_at = 0.0
        self.commands = 0  # commands started on this connection
        self.taken = 0  # commands the device's TCP stack acknowledged on this connection
        self.reply_seen = False  # a reply line came after the last command started
        self.command_written_at = 0.0  # when the last command was written whole

    def connect_error(self) -> int:
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    # ---- login ---------------------------------------------------------------------------------

    def start_login(self, session: Any, on_connect: tuple[bytes, ...], now: float) -> Step:
        """Begin logging in (``session`` None: nothing to log in to). The returned step says
        "wait", "ready" (its ``rest`` are replies) or "failed" (``detail``); whatever the
        device must be sent is queued in ``control``."""
        self.session = session
        self._on_connect = on_connect
        return self._step(session.opening() if session is not None else NO_LOGIN, now)

    def feed_login(self, data: bytes, now: float) -> Step:
        return self._step(self.session.feed(data), now)

    def _step(self, step: Step, now: float) -> Step:
        if step.send:
            self.control += step.send  # may hold the password: never logged
        if step.state == "ready":
            if self.session is not None:
                self.prefix, self.prefix_every = self.session.prefix, self.session.prefix_every
            for data in self._on_connect:
                self.control += data
            self.watch.wrote_other(now)
            self.watch.last_command = now  # idle time counts from ready
        return step

    def refusal(self, line: bytes) -> str | None:
        """A reply line that says the login was refused after all (PJLink ERRA)."""
        return self.session.reply_failed(line) if self.session is not None else None

    # ---- writing -------------------------------------------------------------------------------

    def frame(self, data: bytes) -> bytes:
        """A command's wire bytes on this connection: the login prefix in front of the first
        (or every) command."""
        if self.prefix and (self.prefix_every or not self.commands):
            return self.prefix + data
        return data

    def write_control(self) -> bool:
        """Write the waiting non-command bytes as far as the kernel takes them; True when none
        is left. Never inside a half-written command. OSError if the connection failed."""
        while self.control and self.wire.partial() is None:
            try:
                count = self.sock.send(self.control)
            except BlockingIOError:
                return False
            self.wire.skip(count)
            del self.control[:count]
        return not self.control

    def write(self, item: Pending, fresh: bool) -> bool:
        """Write ``item`` (a fresh one from its start, else its rest); True when written whole.
        BlockingIOError when the kernel takes nothing (a fresh item is then not started),
        OSError if the connection failed."""
        written = self.sock.send(item.data[item.offset:] if item.offset else item.data)
        if fresh:
            self.wire.start(item)
            self.commands += 1
            self.reply_seen = False
        self.wire.wrote(item, written)
        return item.written

    def write_batch(self, items: list[Pending]) -> int:
        """Write fresh commands (framed here) in one send(): how many were started, the last
        perhaps in part; those the kernel took no byte of are not started. BlockingIOError
        when it took nothing, OSError if the connection failed."""
        if self.prefix:
            for index, item in enumerate(items):
                if self.prefix_every or not self.commands + index:
                    item.data = self.prefix + item.data
        started = self.wire.start_written(
            items, self.sock.send(b"".join([item.data for item in items])))
        self.commands += started
        self.reply_seen = False
        return started

    def harvest(self) -> list[Pending]:
        """The commands the device's TCP stack has acknowledged whole since the last look."""
        try:
            unacked = self._unacked(self.sock)
        except OSError:
            return []
        done = self.wire.take_acked(unacked)
        self.taken += len(done)
        return done

    def served(self, now: float, reply_wait: float) -> bool:
        """Per-command: its command was taken and answered (or the reply wait passed)."""
        return bool(self.commands and not self.wire and not self.control and (
            self.reply_seen or now >= self.command_written_at + reply_wait))

    def close(self) -> list[Pending]:
        """Close and return the commands the device had not acknowledged (call after reading
        what it has). With any left, the close is a reset (RST): the kernel discards their
        bytes, so none of them can still arrive later; otherwise a normal close (FIN)."""
        left = self.wire.clear()
        if left:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass  # already dead: nothing left to discard
        self.sock.close()
        return left


class UdpLink:
    udp = True

    def __init__(self, sock: socket.socket, reply_terminator: bytes, watch: WatchConfig,
                 now: float):
        self.sock = sock
        self.wire = NEVER_IN_FLIGHT
        self.control = bytearray()  # never used: a datagram goes at once or not at all
        self.lines = ReplyLines(reply_terminator)
        self.watch = LinkWatch(watch, now)
        self.commands = 0
        self.reply_seen = False
        self.refused = 0  # ICMP port unreachable reports (ECONNREFUSED) seen on this socket

    def send(self, data: bytes) -> bool:
        """One datagram; True if the kernel took it, False if it has no room now. An ICMP
        port unreachable for an earlier datagram is reported on this call instead (the datagram
        is not sent): counted in ``refused`` and tried once more. OSError otherwise."""
        for _ in range(2):
            try:
                self.sock.send(data)
                return True
            except BlockingIOError:
                return False
            except ConnectionRefusedError:
                self.refused += 1
        return False

    def recv(self) -> bytes | None:
        """One datagram's bytes (maybe empty), None when none is waiting; OSError if the
        socket failed. ICMP port unreachable reports are counted in ``refused``."""
        while True:
            try:
                return self.sock.recv(65536)
            except BlockingIOError:
                return None
            except ConnectionRefusedError:
                self.refused += 1

    def refusal(self, line: bytes) -> str | None:
        return None

    def close(self) -> list[Pending]:
        self.sock.close()
        return []
