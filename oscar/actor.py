"""One device's connection: connect, log in, send in order within TTL, pace, read replies.

The process loop (processes/device_actor.py) polls the socket this class exposes and calls
its handlers; every outcome is reported through ``emit`` as wire messages for the registry.
The Actor only sequences the parts:

- ``oscar.device_links``: one socket and its per-connection state (in flight, login, prefix,
  reply framing), TCP or UDP; ``oscar.device_socket`` opens them;
- ``oscar.login_flow``: the device's login recipe and fixed byte strings;
- ``oscar.pacing``: min_gap and wait_for_reply; ``oscar.link_watch``: keep-alive, reply
  timeout, idle close;
- ``oscar.actor_intake``: duplicates and acks; ``oscar.actor_reports``: batched, rate-limited
  events; ``oscar.actor_status``: state, counters and status reports.

States (``oscar.states``): CONNECTING -> CONNECTED (TCP up, logging in) -> READY (logged in,
on_connect written; commands flow). WAITING and AUTH_FAILED wait for the next attempt with a
backoff that grows only on failures; IDLE is an on-demand or per-command device with no
connection open by design. A UDP device is READY as soon as its socket exists.

TTL holds to the wire: a TCP command counts as ``sent`` only once the device's TCP stack has
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
import time
from collections.abc import Callable, Iterable
from typing import Any

from oscar import states
from oscar.actor_intake import Intake
from oscar.actor_reports import Reports
from oscar.actor_status import StatusBoard
from oscar.actor_text import short
from oscar.backoff import Backoff
from oscar.command_queue import CommandQueue, InFlight, Pending
from oscar.device_links import NEVER_IN_FLIGHT, TcpLink, UdpLink
from oscar.device_socket import default_unacked, dial, dial_udp, handed_over
from oscar.link_watch import WatchConfig
from oscar.login_flow import login_timeout, reply_terminator, start_login, wire_text
from oscar.messages import ActorStatus, Command, Event, Message
from oscar.models import Device
from oscar.pacing import Pacing

__all__ = ["Actor", "handed_over"]

log = logging.getLogger(__name__)

_short = short  # the name tests and older code know

CONNECT_TIMEOUT = 3.0
# After a working connection is lost, connect failures retry at most this far apart for
# EXPECT_BACK_FOR seconds (a device rebooting or a cable replugged is back soon).
EXPECT_BACK_RETRY = 0.8
EXPECT_BACK_FOR = 60.0
STABLE_CONNECTION = 2.0  # a persistent connection that lasted this long resets the backoff
# Queued commands written together in one send() (each still tracked on its own in InFlight).
WRITE_BATCH = 64
WRITE_BATCH_BYTES = 16 * 1024
MAX_READS_PER_WAKE = 16  # a flooding device must not starve the command socket
DEFAULT_TTL = 10.0  # until the device's config is known
EXPIRE_EVERY = 0.25  # queued commands are checked against TTL this often
IN_FLIGHT_CHECK = 0.1  # while bytes are unacknowledged, look again this often
SHUTDOWN_GRACE_STEPS = 10  # of 20 ms
UNREACHABLE_REPORT_EVERY = 10.0  # a UDP device's ICMP port unreachable: one event per this
PERSISTENT, PER_COMMAND, ON_DEMAND = "persistent", "per-command", "on-demand"
# Changing any of these opens a new connection (the old one was made or logged in with the
# old values); anything else applies to the open one or the next.
RECONNECT_FIELDS = ("host", "port", "transport", "connection", "profile", "username",
                    "password", "reply_terminator")
# States a per-command device passes through for every command: their changes are status
# updates, not activity events.
ROUTINE = frozenset({states.CONNECTING, states.CONNECTED, states.READY, states.IDLE})
IDLE_DETAIL = "no connection until a command is queued"

Link = TcpLink | UdpLink


class Actor:
    def __init__(self, name: str, emit: Callable[[Message], None],
                 clock: Callable[[], float] = time.time,
                 unacked: Callable[[socket.socket], int] = default_unacked,
                 connect: Callable[[str, int], socket.socket] = dial,
                 connect_udp: Callable[[str, int], socket.socket] = dial_udp,
                 login: Callable[[Device], Any] = start_login):
        self.name = name
        self.device: Device | None = None
        self.emit = emit
        self.clock = clock
        self.unacked = unacked
        self.connect = connect
        self.connect_udp = connect_udp
        self.login = login
        self.queue = CommandQueue()
        self.link: Link | None = None
        self.intake = Intake()
        self.reports = Reports(name, emit, clock)
        self.board = StatusBoard(name, emit, clock)
        self.board.queued = self.queue.__len__
        self.board.in_flight = lambda: len(self.wire)
        self.backoff = Backoff(0.5, 10.0)
        self.pacing = Pacing()
        self._gate_seen_open = True  # what wants_write() last found (next_timeout's cue)
        self.watch_config = WatchConfig()  # shared with the open link: edits apply at once
        self._terminator = b""
        self._on_connect: tuple[bytes, ...] = ()
        self._reply_terminator = b""
        self._last_sender = ""  # of the latest command written: replies are routed to it
        self._mode = PERSISTENT  # the device's connection mode (a UDP socket is always open)
        self.connect_deadline = 0.0
        self.login_deadline = 0.0
        self._unreachable_at = -UNREACHABLE_REPORT_EVERY
        self._expire_due = 0.0
        self._expect_back_until = 0.0  # see _failed

    # ---- views ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.board.state

    @property
    def counters(self) -> dict[str, int]:
        return self.board.counters

    @property
    def retry_at(self) -> float:
        return self.board.retry_at

    @property
    def sock(self) -> socket.socket | None:
        return self.link.sock if self.link is not None else None

    @property
    def wire(self) -> InFlight:
        return self.link.wire if self.link is not None else NEVER_IN_FLIGHT

    @property
    def ttl(self) -> float:
        return self.device.ttl if self.device is not None else DEFAULT_TTL

    @property
    def mode(self) -> str:
        return self._mode

    def _wants_connection(self) -> bool:
        return self.mode == PERSISTENT or self.queue.head() is not None

    def status(self) -> ActorStatus:
        return self.board.status()

    def take_acks(self) -> dict[bytes, list[int]]:
        return self.intake.take_acks()

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
            while self.queue.head() is not None:
                self._drop(self.queue.pop(), reason)
            return
        self.backoff.minimum, self.backoff.maximum = device.backoff_min, device.backoff_max
        self._mode = PERSISTENT if device.transport == "udp" else device.connection
        # Decoded once, not per cue.
        self._terminator = device.terminator_bytes
        self._on_connect = tuple(b for b in (wire_text(device, t) for t in device.on_connect)
                                 if b)
        self._reply_terminator = reply_terminator(device)
        config = self.watch_config
        config.keepalive = wire_text(device, device.keepalive) if device.keepalive else b""
        config.keepalive_interval = device.keepalive_interval
        config.reply_timeout = device.reply_timeout
        config.idle_close = device.idle_close if self.mode == ON_DEMAND else 0.0
        self.pacing.configure(device.min_gap, device.wait_for_reply, device.reply_timeout)
        changed = old is None or any(getattr(old, f) != getattr(device, f)
                                     for f in RECONNECT_FIELDS)
        if changed or self.state == states.DISABLED:
            if old is not None and changed:
                log.info("%s: connection settings changed (%s:%s, %s, %s)", self.name,
                         device.host, device.port, device.transport, device.connection)
            self.queue.requeue(self._close())
            self.backoff.reset()
            self._open_or_idle(IDLE_DETAIL)

    def _open_or_idle(self, detail: str) -> None:
        if self._wants_connection():
            self._start_connect()
        else:
            self._set_state(states.IDLE, detail)

    # ---- commands --------------------------------------------------------------------------

    def handle_command(self, command: Command, peer: bytes = b"") -> None:
        self.handle_commands((command,), peer)

    def handle_commands(self, commands: Iterable[Command], peer: bytes = b"") -> None:
        """Take a batch from one listener, in order, then write what may go in one pass."""
        items = self.intake.fresh(commands, peer)
        if not items:
            return  # resent after a broken connection, but we had them already (acked)
        self.board.count("accepted", len(items))
        if self.device is not None and not self.device.enabled:
            for item in items:
                self._drop(item, "device disabled")
            return
        # Config not known yet (just started): queue them; the TTL still applies later.
        taken = self.queue.extend(items)
        for item in items[taken:]:
            self._drop(item, f"send queue full ({self.queue.limit} commands)")
        if not taken:
            return
        state = self.board.state
        if state == states.READY:
            self._flush()
        elif state == states.IDLE:
            self._start_connect()

    def _next_fresh(self, link: Link, now: float) -> Pending | None:
        """The queued command to write next, if one may start now (TTL, pacing, one per
        connection for per-command devices); expired ones are dropped on the way."""
        assert self.device is not None
        if link.commands and self._mode == PER_COMMAND:
            return None
        ttl = self.device.ttl
        while (item := self.queue.head()) is not None:
            age = now - item.command.received_at
            if age > ttl:
                self.queue.pop()
                self._drop(item, f"expired: {age:.1f}s old, TTL {ttl:g}s")
                continue
            if self.pacing.active and not self.pacing.is_open(now):
                return None
            # The terminator is the device's current one, even for commands queued earlier.
            data = item.command.data
            item.data = data + self._terminator if item.command.terminate else data
            return item
        return None

    def _started(self, item: Pending, now: float) -> None:
        self.queue.pop()
        if self.pacing.active:
            self.pacing.wrote(now)
        self._last_sender = item.command.sender

    def _flush(self) -> None:
        """Write what may go now: bytes that are no command first, then queued commands, whole
        and in order, as far as the kernel takes them."""
        link = self.link
        if isinstance(link, UdpLink):
            self._flush_datagrams(link)
            return
        if link is None:
            return
        now = self.clock()  # one reading per flush: the loop takes microseconds
        try:
            while True:
                item = link.wire.partial()  # a half-written command goes on before anything
                fresh = item is None
                if fresh and link.control and not link.write_control():
                    return
                if self.board.state != states.READY:
                    return  # logging in: only the login's answers go
                if item is None:
                    item = self._next_fresh(link, now)
                    if item is None:
                        return
                    more = self._more_fresh(item, now)
                    if more:
                        if not self._write_batch(link, [item, *more], now):
                            return
                        continue
                    item.data = link.frame(item.data)
                whole = link.write(item, fresh)
                if fresh:
                    self._started(item, now)
                if not whole:
                    return
                # Written whole: the listener need not keep it for a resend (protocol.md).
                self.intake.ack(item)
                link.watch.wrote(now, command=True)
                link.command_written_at = now
                self.board.soon()
                if self.queue.head() is None and not link.control:
                    return  # the common end: everything went (saves a pass of the checks)
        except BlockingIOError:
            return  # kernel buffer full: poll for POLLOUT (a fresh command stays queued)
        except OSError as exc:
            self._lost(f"send failed: {exc.strerror or exc}")

    def _more_fresh(self, head: Pending, now: float) -> list[Pending]:
        """Queued commands that may go right after ``head`` in the same send(): none when
        pacing or per-command connections space them out; stops before an expired one."""
        if self.pacing.active or self._mode == PER_COMMAND:
            return []
        assert self.device is not None
        ttl, terminator = self.device.ttl, self._terminator
        more: list[Pending] = []
        size = len(head.data)
        for item in self.queue.following(WRITE_BATCH - 1):
            if now - item.command.received_at > ttl or size > WRITE_BATCH_BYTES:
                break
            data = item.command.data
            item.data = data + terminator if item.command.terminate else data
            size += len(item.data)
            more.append(item)
        return more

    def _write_batch(self, link: TcpLink, items: list[Pending], now: float) -> bool:
        """Write several queued commands in one send(); True when all went whole. No pacing
        here (_more_fresh): starting one is taking it off the queue."""
        started = link.write_batch(items)
        if not started:
            return False
        pop = self.queue.pop
        for _ in range(started):
            pop()
        self._last_sender = items[started - 1].command.sender
        whole = started if items[started - 1].written else started - 1
        if whole:  # the same moment for all of them: noted once
            self.intake.ack_all(items[:whole])
            link.watch.wrote(now, command=True)
            link.command_written_at = now
            self.board.soon()
        return started == len(items) and items[-1].written

    def _flush_datagrams(self, link: UdpLink) -> None:
        """UDP: each command is one datagram, taken (sent) when the kernel accepts it."""
        now = self.clock()
        while self.state == states.READY and self.link is link:
            item = self._next_fresh(link, now)
            if item is None:
                return
            try:
                taken = link.send(item.data)
            except OSError as exc:
                if exc.errno == errno.EMSGSIZE:
                    self.queue.pop()
                    self._drop(item, f"too long for one datagram ({len(item.data)} bytes)")
                    continue
                self._lost(f"send failed: {exc.strerror or exc}")
                return
            finally:
                self._unreachable(link)
            if not taken:
                return
            link.commands += 1
            link.reply_seen = False
            self._started(item, now)
            self.intake.ack(item)
            link.watch.wrote(now, command=True)
            self._sent(item)

    def _settle(self) -> None:
        """Count what the device has taken as sent; reset the connection if it stopped taking
        data for longer than the TTL of a command still in flight."""
        if not self.wire:
            return
        self._harvest()
        oldest = self.wire.oldest_received()
        if oldest is not None and self.clock() - oldest > self.ttl:
            self._reset_stale(self.clock() - oldest)

    def _harvest(self) -> None:
        if isinstance(self.link, TcpLink):
            done = self.link.harvest()
            if done:  # counted as one batch: a tick at 20 000 cues/s harvests thousands
                self.board.count("sent", len(done))
                self.reports.sent(done[-1], len(done))

    def _sent(self, item: Pending) -> None:
        self.board.count("sent")
        self.reports.sent(item)

    def _reset_stale(self, age: float) -> None:
        ttl = self.ttl
        stale = self._close()
        reason = f"stale: not taken by the device within TTL {ttl:g}s, connection reset"
        for item in stale:
            self._drop(item, reason)
        self._failed(f"device stopped taking data: a cue waited {age:.1f}s on the "
                     f"connection (TTL {ttl:g}s); reset it and dropped {len(stale)} "
                     "commands it had not taken")

    def _drop(self, item: Pending, reason: str) -> None:
        self.intake.ack(item)
        self.board.count("dropped")
        self.reports.dropped(item, reason)

    def expire(self) -> None:
        """Drop (and report) queued commands past their TTL: they must not fire late."""
        ttl = self.ttl
        for item in self.queue.take_expired(self.clock(), ttl):
            age = self.clock() - item.command.received_at
            self._drop(item, f"expired while waiting: {age:.1f}s old, TTL {ttl:g}s")

    # ---- connection --------------------------------------------------------------------------

    def _start_connect(self) -> None:
        assert self.device is not None
        device = self.device
        host, port = device.host, device.port
        self.board.peer = peer = f"{host}:{port}"
        now = self.clock()
        udp = device.transport == "udp"
        try:
            sock = (self.connect_udp if udp else self.connect)(host, port)
        except OSError as exc:
            what = "open a UDP socket to" if udp else "connect to"
            self._failed(f"cannot {what} {peer}: {exc.strerror or exc}", unreachable=True)
            return
        if not udp:
            self.link = TcpLink(sock, self.unacked, self._reply_terminator, self.watch_config,
                                now)
            self.connect_deadline = now + CONNECT_TIMEOUT
            self._set_state(states.CONNECTING, f"connecting to {peer}")
            return
        link = self.link = UdpLink(sock, self._reply_terminator, self.watch_config, now)
        self.board.count("connects")
        self._set_state(states.READY, f"sending datagrams to {peer} (UDP)")
        for data in self._on_connect:
            self._send_datagram(link, data)
        self._flush()

    def _send_datagram(self, link: UdpLink, data: bytes) -> None:
        """A datagram that is no command (on_connect, keep-alive): sent if the kernel takes it
        now; UDP promises no more."""
        try:
            link.send(data)
        except OSError as exc:
            log.debug("%s: datagram not sent: %s", self.name, exc)
        self._unreachable(link)

    def on_writable(self) -> None:
        link = self.link
        if isinstance(link, TcpLink) and self.state == states.CONNECTING:
            code = link.connect_error()
            if code:
                self._close()
                self._failed(f"cannot connect to {self.board.peer}: {os.strerror(code)}",
                             unreachable=True)
                return
            link.connected_at = self.clock()
            self.board.count("connects")
            self._set_state(states.CONNECTED, f"connected to {self.board.peer}, logging in")
            self._start_login(link)
        elif link is not None and self.state in (states.CONNECTED, states.READY):
            self._flush()

    def _start_login(self, link: TcpLink) -> None:
        assert self.device is not None
        try:
            session = self.login(self.device)
        except ValueError as exc:
            self._close()
            self._failed(f"cannot log in: {exc}")
            return
        self.login_deadline = self.clock() + login_timeout(self.device)
        self._login_step(link, link.start_login(session, self._on_connect, self.clock()))

    def _login_step(self, link: TcpLink, step: Any) -> None:
        if step.state == "failed":
            self._auth_failed(step.detail or "the device refused the login")
            return
        if step.state == "ready":
            self._set_state(states.READY, f"connected to {self.board.peer}"
                            + (", logged in" if link.session is not None else ""))
            if step.rest:
                self._replies(link, step.rest)
        if self.link is link:
            self._flush()  # the login's answer, or on_connect and what is queued

    def on_readable(self) -> None:
        for _ in range(MAX_READS_PER_WAKE):
            link = self.link
            if isinstance(link, UdpLink):
                self._read_datagram(link)
                return
            if link is None or self.state not in (states.CONNECTED, states.READY):
                return
            try:
                data = link.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:
                self._lost(f"connection error: {exc.strerror or exc}")
                return
            if not data:
                self._closed_by_device(link)
                return
            if self.state == states.CONNECTED:
                self._login_step(link, link.feed_login(data, self.clock()))
            else:
                self._replies(link, data)

    def _read_datagram(self, link: UdpLink) -> None:
        for _ in range(MAX_READS_PER_WAKE):
            try:
                data = link.recv()
            except OSError as exc:
                self.board.note("error", f"receive failed: {exc.strerror or exc}")
                return
            finally:
                self._unreachable(link)
            if data is None or self.link is not link:
                return
            if data:  # an empty datagram carries nothing
                self._replies(link, data)

    def _replies(self, link: Link, data: bytes) -> None:
        """Bytes from the device once it is ready: split into lines, each one an event (routed
        to the sender of the latest command), rate-limited."""
        link.watch.received()
        self.board.count("reply_bytes", len(data))
        lines = link.lines.feed(data)
        if not lines:
            return
        self.board.count("replies", len(lines))
        self.board.note("reply", short(lines[-1]))
        self.pacing.reply_line()
        link.reply_seen = True
        for line in lines:
            self.reports.reply(line, self._last_sender)
            refusal = link.refusal(line)
            if refusal:
                # The command it answers reached the device: it counts as sent.
                self._auth_failed(refusal)
                return
        if isinstance(link, TcpLink) and self._mode == PER_COMMAND:
            self._per_command_done(link, self.clock())

    def _per_command_done(self, link: TcpLink, now: float) -> None:
        """Close a per-command connection once its command is taken and answered (or its
        reply wait passed), then open the next one at once if a command waits."""
        if link.commands:
            self._harvest()
            if link.served(now, self.pacing.reply_wait):
                self._finish("command sent, connection closed")
        elif self._next_fresh(link, now) is None and self.queue.head() is None:
            self._finish("nothing left to send, connection closed")  # expired meanwhile

    def _closed_by_device(self, link: TcpLink) -> None:
        if self.state != states.READY:
            self._close()
            self._failed("device closed the connection before the login finished")
            return
        if self.mode == PERSISTENT:
            self._lost("device closed the connection")
            return
        # Per-command or on-demand: closing a served or idle connection is the device's way.
        left = self._close()
        self.queue.requeue(left)
        if left or not (link.taken or self.queue.head() is None):
            self._failed("device closed the connection before taking the command")
            return
        self.backoff.reset()
        self._open_or_idle("device closed the connection")

    def _finish(self, detail: str) -> None:
        """Close a connection by design (FIN: everything on it was taken)."""
        self.queue.requeue(self._close())
        self.backoff.reset()
        self._open_or_idle(detail)

    def on_error(self) -> None:
        if self.state == states.CONNECTING:
            self.on_writable()  # SO_ERROR tells what went wrong
        else:
            self.on_readable()

    def _lost(self, reason: str) -> None:
        """A connection broke. Not a failure if it had served (lasted, or the device took a
        command on it): the backoff starts over."""
        link = self.link
        served = isinstance(link, TcpLink) and self.state == states.READY and (
            self.clock() - link.connected_at >= STABLE_CONNECTION or link.taken > 0)
        # What the device had not acknowledged goes again, whole, on the next connection
        # (within TTL); the reset in _close makes sure the old one cannot deliver it too.
        self.queue.requeue(self._close())
        if served:
            self.backoff.reset()
            # The device was there a moment ago: while it is expected back, retry often.
            self._expect_back_until = self.clock() + EXPECT_BACK_FOR
        self._failed(reason)

    def _auth_failed(self, detail: str) -> None:
        self.queue.requeue(self._close())
        self._failed(f"login failed: {detail}", state=states.AUTH_FAILED)

    def _failed(self, reason: str, state: str = states.WAITING,
                unreachable: bool = False) -> None:
        """A failure: wait a growing backoff before the next attempt. Not reachable soon after
        a working connection was lost: retry at least every EXPECT_BACK_RETRY seconds, so
        the device is back in use within about that long after it returns."""
        delay = self.backoff.next_delay()
        if unreachable and self.clock() < self._expect_back_until:
            delay = min(delay, max(self.backoff.minimum, EXPECT_BACK_RETRY))
        self.board.retry_at = self.clock() + delay
        self.board.note("error", reason)
        log.warning("%s: %s; retrying in %.1fs", self.name, reason, delay)
        self.emit(Event("device", "error", reason, device=self.name))
        self._set_state(state, f"{reason}; retry in {delay:.1f}s")

    def _unreachable(self, link: UdpLink) -> None:
        """Report ICMP port unreachable (seen by the link) as the last error: the device may
        start listening any moment, so it changes no state."""
        if not link.refused:
            return
        link.refused = 0
        reason = f"port unreachable: nothing listens on {self.board.peer} (ICMP)"
        self.board.note("error", reason)
        now = self.clock()
        if now - self._unreachable_at >= UNREACHABLE_REPORT_EVERY:
            self._unreachable_at = now
            log.warning("%s: %s", self.name, reason)
            self.emit(Event("device", "error", reason, device=self.name))

    def _close(self) -> list[Pending]:
        """Close the connection and return the commands the device had not acknowledged."""
        if self.link is None:
            return []
        self._harvest()
        link, self.link = self.link, None
        self.pacing.connection_gone()
        return link.close()

    def shutdown(self) -> None:
        # A device that is reading takes what is in flight within milliseconds: give it a
        # moment, then reset, so nothing can arrive after we stopped counting.
        for _ in range(SHUTDOWN_GRACE_STEPS):
            self._harvest()
            if not self.wire:
                break
            time.sleep(0.02)
        for item in self._close():
            self._drop(item, "actor stopping before the device took it")
        self.reports.flush()
        self._set_state(states.STOPPED, "actor stopping")

    # ---- timers and status -------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        if now >= self._expire_due:  # first: a retry is not worth it for expired commands
            self.expire()
            self._expire_due = now + EXPIRE_EVERY
        state = self.state
        if state == states.CONNECTING and self.link is not None:
            if now >= self.connect_deadline:
                self._close()
                self._failed(f"no answer from {self.board.peer} within {CONNECT_TIMEOUT:g}s",
                             unreachable=True)
        elif state == states.CONNECTED and self.link is not None:
            if now >= self.login_deadline:
                self._close()
                assert self.device is not None
                self._failed(f"login did not finish within {login_timeout(self.device):g}s")
        elif state in states.RETRYING and now >= self.retry_at:
            if self._wants_connection():
                self._start_connect()
            elif state == states.WAITING:
                self._set_state(states.IDLE, IDLE_DETAIL)
        if self.state == states.READY:
            self._settle()
        if self.state == states.READY:
            self._watch(now)
        self.reports.tick()
        if self.board.report_due():
            text = self.reports.flush_sent()
            if text is not None:
                self.board.last["command"] = (text, now)
            self.board.report()

    def _watch(self, now: float) -> None:
        """The open connection's timers: per-command close, dead link, idle close,
        keep-alive."""
        link = self.link
        if link is None:
            return
        watch = link.watch
        if isinstance(link, UdpLink):
            if watch.keepalive_due(now):
                self._send_datagram(link, watch.config.keepalive)
                watch.wrote(now, command=False)
            return
        if self.mode == PER_COMMAND:
            self._per_command_done(link, now)
        elif watch.dead(now):
            self.queue.requeue(self._close())
            self._failed(f"no reply within {watch.config.reply_timeout:g}s: "
                         "the link is dead, reconnecting")
        elif (self.mode == ON_DEMAND and watch.idle(now) and not link.wire
              and not link.control and self.queue.head() is None):
            self._finish(f"idle for {watch.config.idle_close:g}s, connection closed")
        elif watch.keepalive_due(now) and not link.wire.partial() and not link.control:
            link.control += watch.config.keepalive
            watch.wrote(now, command=False)
            self._flush()

    def next_timeout(self) -> float:
        """Seconds until tick() has something to do."""
        now = self.clock()
        due = [*self.board.next_due(), *self.reports.next_due()]
        if self.queue.head() is not None:
            due.append(self._expire_due)  # queued commands must not outlive their TTL
        link = self.link
        state = self.state
        if state == states.CONNECTING:
            if link is not None:  # no config yet: nothing to connect to (and no deadline)
                due.append(self.connect_deadline)
        elif state == states.CONNECTED:
            due.append(self.login_deadline)
        elif state in states.RETRYING:
            if state == states.WAITING or self._wants_connection():
                due.append(self.retry_at)
        elif state == states.READY and link is not None:
            if link.wire:
                due.append(now + IN_FLIGHT_CHECK)  # acks turn into "sent", a stall into a reset
            queued = self.queue.head() is not None
            if queued and self.pacing.active and not self._gate_seen_open:
                # wants_write() found the gate shut: wake when it opens, even if that moment
                # passed since (then at once; the next turn asks for POLLOUT).
                due.append(self.pacing.open_at())
            if isinstance(link, TcpLink) and self.mode == PER_COMMAND:
                if link.commands and not link.wire and not link.reply_seen:
                    due.append(link.command_written_at + self.pacing.reply_wait)
            else:
                # Only timers that tick() can act on when they fire (no busy loop meanwhile).
                blocked = bool(link.control) or link.wire.partial() is not None
                idle = self.mode == ON_DEMAND and not (link.wire or link.control or queued)
                due += link.watch.next_due(keepalive=not blocked, idle=idle)
        return max(0.0, min(due) - now)

    def wake_after_commands(self, wake_at: float, dropped: int,
                            polled: socket.socket | None) -> float:
        """When the loop must next run tick() and look at the poller again, after a turn that
        only took commands (the loop's fast path): ``wake_at`` still, or sooner for the timers
        the written commands start (in-flight bytes to count, a reply timeout, the status);
        0.0 (at once) when the turn changed more than that: a state, the socket the loop
        polls (``polled``), a command still queued or half-written, a drop (``dropped`` was
        the counter before), pacing or a per-command connection."""
        link = self.link
        if (link is None or link.sock is not polled or self.board.state != states.READY
                or self.queue.head() is not None or link.control or link.wire.partial() is not None
                or self.pacing.active or self._mode == PER_COMMAND
                or self.board.counters["dropped"] != dropped):
            return 0.0
        if link.wire:
            wake_at = min(wake_at, self.clock() + IN_FLIGHT_CHECK)
        status_due = self.board.status_due
        if status_due and status_due < wake_at:
            wake_at = status_due
        watch = link.watch
        if watch.awaiting_since and watch.config.reply_timeout:
            wake_at = min(wake_at, watch.next_due(keepalive=False, idle=False)[0])
        return wake_at

    def wants_write(self) -> bool:
        self._gate_seen_open = True
        link = self.link
        if link is None:
            return False
        if self.state == states.CONNECTING:
            return isinstance(link, TcpLink)
        if link.control or link.wire.partial() is not None:
            return True
        self._gate_seen_open = not self.pacing.active or self.pacing.is_open(self.clock())
        return (self.state == states.READY and self.queue.head() is not None
                and self._gate_seen_open
                and not (self.mode == PER_COMMAND and link.commands))

    def _set_state(self, state: str, detail: str) -> None:
        previous = self.state
        routine = self.mode == PER_COMMAND and previous in ROUTINE and state in ROUTINE
        self.board.set_state(state, detail, routine=routine)
