"""One device's connection: connect, back off, send in order within TTL, read replies.

The process loop (processes/device_actor.py) polls the sockets this class exposes and calls
its handlers; every outcome is reported through ``emit`` as wire messages for the registry.

TTL holds to the wire: a command counts as ``sent`` only once the device's TCP stack has
acknowledged its bytes (our kernel's count of unacknowledged bytes, ``SIOCOUTQ``, read through
the injectable ``unacked``). Until then it is ``in_flight``. If the device stops taking data for
longer than its TTL, the connection is reset, so our kernel discards the bytes, and everything
in flight is reported dropped: a stale cue never fires late from a kernel buffer. Counters
always add up: ``accepted = sent + dropped + in_flight + queued``.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable

from oscar import escapes, states
from oscar.backoff import Backoff
from oscar.command_queue import CommandQueue, InFlight, Pending
from oscar.messages import ActorStatus, Command, Event, Message
from oscar.models import Device

try:
    import fcntl
except ImportError:  # not on every platform; the fallback below needs none
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
STABLE_CONNECTION = 2.0  # a connection that lasted this long resets the backoff
HEARTBEAT = 2.0  # full status at least this often, so a restarted registry catches up
STATUS_COALESCE = 0.2  # counter changes are batched into one status per this interval
MAX_READS_PER_WAKE = 16  # a flooding device must not starve the command socket
REPLY_EVENTS_PER_SECOND = 20
DROP_EVENTS_PER_SECOND = 10  # more drops within a second become one summary event
TEXT_LIMIT = 200
DEDUP_WINDOW = 20_000  # recent (sender, seq) pairs remembered to discard resent duplicates
DEFAULT_TTL = 10.0  # until the device's config is known
EXPIRE_EVERY = 0.25  # queued commands are checked against TTL this often
IN_FLIGHT_CHECK = 0.1  # while bytes are unacknowledged, look again this often
# Our kernel's send buffer: small, so little can wait where we cannot see or drop it (Linux
# doubles the value asked for).
SEND_BUFFER = 16 * 1024
SHUTDOWN_GRACE_STEPS = 10  # of 20 ms
SIOCOUTQ = 0x5411  # Linux: bytes on a TCP socket not yet acknowledged by the peer (= TIOCOUTQ)


def _short(data: bytes | str) -> str:
    """Text for events and status: printable UTF-8 as is, any other byte as an escape
    (``\\xff``, ``\\r``), so what was sent reads as the operator would type it."""
    if isinstance(data, bytes):
        data = data.strip()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = escapes.encode(data)
        else:
            if not text.isprintable():
                text = "".join(c if c.isprintable() else escapes.encode(c.encode("utf-8"))
                               for c in text)
    else:
        text = data.strip()
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "..."


def kernel_unacked(sock: socket.socket) -> int:
    """Linux: bytes written to ``sock`` that the peer has not acknowledged yet."""
    assert fcntl is not None
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0\0\0\0"))[0]


def handed_over(sock: socket.socket) -> int:
    """Elsewhere (macOS...): bytes handed to send() count as taken; the small send buffer
    bounds what can hide in our kernel, and a cue that cannot be handed over stays ours."""
    return 0


default_unacked = (kernel_unacked if sys.platform.startswith("linux") and fcntl is not None
                   else handed_over)


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    # Notice a silently dead device within seconds, even when no cue is being sent.
    for option, value in (("TCP_KEEPIDLE", 2), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3),
                          ("TCP_USER_TIMEOUT", 5000)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def dial(host: str, port: int) -> socket.socket:
    """A tuned non-blocking socket with its connect under way; OSError if it cannot start."""
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        _tune(sock)
        code = sock.connect_ex(info[4])
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, os.strerror(code))
    except BaseException:
        sock.close()
        raise
    return sock


class Actor:
    def __init__(self, name: str, emit: Callable[[Message], None],
                 clock: Callable[[], float] = time.time,
                 unacked: Callable[[socket.socket], int] = default_unacked,
                 connect: Callable[[str, int], socket.socket] = dial):
        self.name = name
        self.device: Device | None = None
        self.emit = emit
        self.clock = clock
        self.unacked = unacked
        self.connect = connect
        self.queue = CommandQueue()
        self.wire = InFlight()  # one per connection
        self._terminator = b""
        self.sock: socket.socket | None = None
        self.state = states.CONNECTING
        self.since = clock()
        self.peer = ""
        self.connected_at = 0.0
        self.connect_deadline = 0.0
        self.retry_at = 0.0
        self.backoff = Backoff(0.5, 10.0)
        self.counters = {"accepted": 0, "sent": 0, "dropped": 0, "replies": 0,
                         "reply_bytes": 0, "connects": 0}
        self.last = {"error": ("", 0.0), "command": ("", 0.0), "reply": ("", 0.0)}
        self._status_due = 0.0
        self._heartbeat_due = 0.0
        self._expire_due = 0.0
        self._reply_window = (0.0, 0)
        # Sent commands are reported once per status interval, drops at most
        # DROP_EVENTS_PER_SECOND a second: no per-cue event or log line under load.
        self._sent_batch = 0
        self._sent_last: Pending | None = None
        self._drop_window = (0.0, 0)
        self._drops_hidden = 0
        self._drop_hidden_last: tuple[Pending, str] | None = None
        self._acks: dict[bytes, list[int]] = {}
        self._seen: set[tuple[bytes, int]] = set()
        self._seen_order: deque[tuple[bytes, int]] = deque()

    @property
    def ttl(self) -> float:
        return self.device.ttl if self.device is not None else DEFAULT_TTL

    # ---- configuration -------------------------------------------------------------------

    def configure(self, device: Device | None) -> None:
        """Apply desired state. None means the device was removed: stop using it."""
        old = self.device
        self.device = device
        if device is None or not device.enabled:
            reason = "device disabled" if device else "device removed"
            for item in self._close():
                self._drop(item, reason)
            self._set_state(states.DISABLED, "removed" if device is None else "disabled")
            self._drop_all(reason)
            return
        self.backoff.minimum, self.backoff.maximum = device.backoff_min, device.backoff_max
        self._terminator = device.terminator_bytes  # decoded once, not per cue
        moved = old is None or (old.host, old.port) != (device.host, device.port)
        if moved or self.state == states.DISABLED:
            if old is not None and moved:
                log.info("%s: address changed to %s:%s", self.name, device.host, device.port)
            self.queue.requeue(self._close())
            self.backoff.reset()
            self._start_connect()

    # ---- commands --------------------------------------------------------------------------

    def handle_command(self, command: Command, peer: bytes = b"") -> None:
        log.debug("%s: command #%d from %s (%s)", self.name, command.seq, command.sender,
                  self.state)
        item = Pending(command, peer)
        key = (peer, command.seq)
        if command.seq and key in self._seen:
            # Resent after a broken connection, but we had it already: ack, do not send twice.
            self._ack(item)
            return
        self._seen.add(key)
        self._seen_order.append(key)
        if len(self._seen_order) > DEDUP_WINDOW:
            self._seen.discard(self._seen_order.popleft())
        self.counters["accepted"] += 1
        if self.device is not None and not self.device.enabled:
            self._drop(item, "device disabled")
            return
        # Config not known yet (just started): queue it; the TTL still applies later.
        if not self.queue.push(item):
            self._drop(item, f"send queue full ({self.queue.limit} commands)")
            return
        if self.state == states.CONNECTED:
            self._flush()
        self._status_soon()

    def _ack(self, item: Pending) -> None:
        if item.acked:
            return  # written whole before a lost connection, now written again or dropped
        item.acked = True
        self._acks.setdefault(item.peer, []).append(item.command.seq)

    def take_acks(self) -> dict[bytes, list[int]]:
        acks, self._acks = self._acks, {}
        return acks

    def _flush(self) -> None:
        """Write queued commands, whole and in order, as far as the kernel takes them."""
        assert self.sock is not None and self.device is not None
        while True:
            item = self.wire.partial()  # a half-written command goes on before anything else
            fresh = item is None
            if item is None:
                item = self.queue.head()
                if item is None:
                    return
                age = self.clock() - item.command.received_at
                if age > self.device.ttl:
                    self.queue.pop()
                    self._drop(item, f"expired: {age:.1f}s old, TTL {self.device.ttl:g}s")
                    continue
                # The terminator is the device's current one, even for commands queued earlier.
                data = item.command.data
                item.data = data + self._terminator if item.command.terminate else data
            try:
                written = self.sock.send(item.data[item.offset:] if item.offset else item.data)
            except BlockingIOError:
                return  # kernel buffer full: poll for POLLOUT (a fresh command stays queued)
            except OSError as exc:
                self._lost(f"send failed: {exc.strerror or exc}")
                return
            if fresh:
                self.queue.pop()
                self.wire.start(item)
            self.wire.wrote(item, written)
            if not item.written:
                return
            # Written whole: the listener need not keep it for a resend (docs/protocol.md).
            self._ack(item)
            self._status_soon()

    def _settle(self) -> None:
        """Count what the device has taken as sent; reset the connection if it stopped taking
        data for longer than the TTL of a command still in flight."""
        if self.sock is None or not self.wire:
            return
        self._harvest()
        oldest = self.wire.oldest_received()
        if oldest is None:
            return
        age = self.clock() - oldest
        if age > self.ttl:
            self._reset_stale(age)

    def _harvest(self) -> None:
        assert self.sock is not None
        try:
            unacked = self.unacked(self.sock)
        except OSError as exc:
            log.debug("%s: cannot read unacknowledged bytes: %s", self.name, exc)
            return
        for item in self.wire.take_acked(unacked):
            self._sent(item)

    def _sent(self, item: Pending) -> None:
        self.counters["sent"] += 1
        self._sent_batch += 1
        self._sent_last = item
        log.debug("%s: device took #%d", self.name, item.command.seq)
        self._status_soon()

    def _reset_stale(self, age: float) -> None:
        ttl = self.ttl
        stale = self._close()
        reason = f"stale: not taken by the device within TTL {ttl:g}s, connection reset"
        for item in stale:
            self._drop(item, reason)
        self._retry_later(f"device stopped taking data: a cue waited {age:.1f}s on the "
                          f"connection (TTL {ttl:g}s); reset it and dropped {len(stale)} "
                          "commands it had not taken")

    def _drop(self, item: Pending, reason: str) -> None:
        self._ack(item)
        self.counters["dropped"] += 1
        self._status_soon()
        now = self.clock()
        window_start, count = self._drop_window
        if now - window_start >= 1.0:
            self._summarise_drops()
            window_start, count = now, 0
        self._drop_window = (window_start, count + 1)
        if count >= DROP_EVENTS_PER_SECOND:
            self._drops_hidden += 1
            self._drop_hidden_last = (item, reason)
            return
        command = item.command
        text = _short(command.data)
        log.warning("%s: dropped %r from %s: %s", self.name, text, command.sender or "?", reason)
        self.emit(Event("device", "dropped", f"'{text}': {reason}", device=self.name,
                        sender=command.sender))

    def _summarise_drops(self) -> None:
        if not self._drops_hidden or self._drop_hidden_last is None:
            return
        item, reason = self._drop_hidden_last
        detail = (f"{self._drops_hidden} more commands dropped within a second, last "
                  f"'{_short(item.command.data)}': {reason}")
        log.warning("%s: %s", self.name, detail)
        self.emit(Event("device", "dropped", detail, device=self.name,
                        sender=item.command.sender))
        self._drops_hidden = 0
        self._drop_hidden_last = None

    def _report_sent(self) -> None:
        if not self._sent_batch or self._sent_last is None:
            return
        command = self._sent_last.command
        text = _short(command.data)
        self.last["command"] = (text, self.clock())
        if self._sent_batch == 1:
            detail = text
            log.info("%s: sent %r", self.name, text)
        else:
            detail = f"{self._sent_batch} commands, last: {text}"
            log.info("%s: sent %d commands, last %r", self.name, self._sent_batch, text)
        self.emit(Event("device", "sent", detail, device=self.name, sender=command.sender))
        self._sent_batch = 0
        self._sent_last = None

    def _drop_all(self, reason: str) -> None:
        while self.queue.head() is not None:
            self._drop(self.queue.pop(), reason)

    def expire(self) -> None:
        """Drop (and report) queued commands past their TTL: they must not fire late."""
        ttl = self.ttl
        for item in self.queue.take_expired(self.clock(), ttl):
            age = self.clock() - item.command.received_at
            self._drop(item, f"expired while waiting: {age:.1f}s old, TTL {ttl:g}s")

    # ---- connection --------------------------------------------------------------------------

    def _start_connect(self) -> None:
        assert self.device is not None
        host, port = self.device.host, self.device.port
        self.peer = f"{host}:{port}"
        try:
            sock = self.connect(host, port)
        except OSError as exc:
            self._retry_later(f"cannot connect to {self.peer}: {exc.strerror or exc}")
            return
        self.sock = sock
        self.wire = InFlight()
        self.connect_deadline = self.clock() + CONNECT_TIMEOUT
        self._set_state(states.CONNECTING, f"connecting to {self.peer}")

    def on_writable(self) -> None:
        if self.sock is None:
            return
        if self.state == states.CONNECTING:
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self._close()
                self._retry_later(f"cannot connect to {self.peer}: {os.strerror(code)}")
                return
            self.connected_at = self.clock()
            self.counters["connects"] += 1
            self._set_state(states.CONNECTED, f"connected to {self.peer}")
        if self.state == states.CONNECTED:
            self._flush()

    def on_readable(self) -> None:
        for _ in range(MAX_READS_PER_WAKE):
            if self.sock is None or self.state != states.CONNECTED:
                return
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:
                self._lost(f"connection error: {exc.strerror or exc}")
                return
            if not data:
                self._lost("device closed the connection")
                return
            self._reply(data)

    def _reply(self, data: bytes) -> None:
        self.counters["replies"] += 1
        self.counters["reply_bytes"] += len(data)
        text = _short(data)
        now = self.clock()
        self.last["reply"] = (text, now)
        window_start, count = self._reply_window
        if now - window_start >= 1.0:
            window_start, count = now, 0
        if count < REPLY_EVENTS_PER_SECOND:
            log.info("%s: reply %r", self.name, text)
            self.emit(Event("device", "reply", text, device=self.name))
        self._reply_window = (window_start, count + 1)
        self._status_soon()

    def on_error(self) -> None:
        if self.state == states.CONNECTING:
            self.on_writable()  # SO_ERROR tells what went wrong
        else:
            self.on_readable()

    def _lost(self, reason: str) -> None:
        stable = self.clock() - self.connected_at >= STABLE_CONNECTION
        # What the device had not acknowledged goes again, whole, on the next connection
        # (within TTL); the reset in _close makes sure the old one cannot deliver it too.
        self.queue.requeue(self._close())
        if stable:
            self.backoff.reset()
        self._retry_later(reason)

    def _retry_later(self, reason: str) -> None:
        delay = self.backoff.next_delay()
        self.retry_at = self.clock() + delay
        self.last["error"] = (reason, self.clock())
        log.warning("%s: %s; retrying in %.1fs", self.name, reason, delay)
        self.emit(Event("device", "error", reason, device=self.name))
        self._set_state(states.WAITING, f"{reason}; retry in {delay:.1f}s")

    def _close(self) -> list[Pending]:
        """Close the connection and return the commands the device had not acknowledged.
        With any left, the close is a reset (RST): the kernel discards their bytes, so none of
        them can still arrive later."""
        if self.sock is None:
            return []
        if self.wire:
            self._harvest()
        left = self.wire.clear()
        if left:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass  # already dead: nothing left to discard
        self.sock.close()
        self.sock = None
        return left

    def shutdown(self) -> None:
        # A device that is reading takes what is in flight within milliseconds: give it a
        # moment, then reset, so nothing can arrive after we stopped counting.
        for _ in range(SHUTDOWN_GRACE_STEPS):
            if self.sock is None:
                break
            self._harvest()
            if not self.wire:
                break
            time.sleep(0.02)
        for item in self._close():
            self._drop(item, "actor stopping before the device took it")
        self._summarise_drops()
        self._report_sent()
        self._set_state(states.STOPPED, "actor stopping")

    # ---- timers and status -------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        connecting = self.state == states.CONNECTING and self.sock is not None
        if connecting and now >= self.connect_deadline:
            self._close()
            self._retry_later(f"no answer from {self.peer} within {CONNECT_TIMEOUT:g}s")
        elif self.state == states.WAITING and now >= self.retry_at:
            self._start_connect()
        if self.state == states.CONNECTED:
            self._settle()
        if now >= self._expire_due:
            self.expire()
            self._expire_due = now + EXPIRE_EVERY
        if self._drops_hidden and now - self._drop_window[0] >= 1.0:
            self._summarise_drops()
        if now >= self._heartbeat_due or (self._status_due and now >= self._status_due):
            self._report_sent()
            self.emit(self.status())
            self._status_due = 0.0
            self._heartbeat_due = now + HEARTBEAT

    def next_timeout(self) -> float:
        """Seconds until tick() has something to do."""
        now = self.clock()
        due = [self._heartbeat_due, now + 0.5]
        if self._status_due:
            due.append(self._status_due)
        if self._drops_hidden:
            due.append(self._drop_window[0] + 1.0)
        if self.state == states.CONNECTING:
            due.append(self.connect_deadline)
        elif self.state == states.WAITING:
            due.append(self.retry_at)
        elif self.state == states.CONNECTED and self.wire:
            due.append(now + IN_FLIGHT_CHECK)  # acks turn into "sent", a stall into a reset
        return max(0.0, min(due) - now)

    def wants_write(self) -> bool:
        return self.state == states.CONNECTING or (
            self.state == states.CONNECTED
            and (self.queue.head() is not None or self.wire.partial() is not None)
        )

    def _status_soon(self) -> None:
        if not self._status_due:
            self._status_due = self.clock() + STATUS_COALESCE

    def _set_state(self, state: str, detail: str) -> None:
        if state != self.state:
            self.state = state
            self.since = self.clock()
            log.info("%s: %s (%s)", self.name, state, detail)
            self.emit(Event("device", "state", f"{state}: {detail}", device=self.name))
            self.emit(self.status())
            self._heartbeat_due = self.clock() + HEARTBEAT

    def status(self) -> ActorStatus:
        return ActorStatus(
            device=self.name, state=self.state, since=self.since, pid=os.getpid(),
            peer=self.peer, queued=len(self.queue), in_flight=len(self.wire),
            last_error=self.last["error"][0], last_error_at=self.last["error"][1],
            last_command=self.last["command"][0], last_command_at=self.last["command"][1],
            last_reply=self.last["reply"][0], last_reply_at=self.last["reply"][1],
            next_retry_at=self.retry_at if self.state == states.WAITING else 0.0,
            **self.counters,
        )
