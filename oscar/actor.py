"""One device's connection: connect, back off, send in order within TTL, read replies.

The process loop (processes/device_actor.py) polls the sockets this class exposes and calls
its handlers; every outcome is reported through ``emit`` as wire messages for the registry.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable

from oscar import states
from oscar.backoff import Backoff
from oscar.command_queue import CommandQueue, Pending
from oscar.messages import ActorStatus, Command, Event, Message
from oscar.models import Device

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
STABLE_CONNECTION = 2.0  # a connection that lasted this long resets the backoff
HEARTBEAT = 2.0  # full status at least this often, so a restarted registry catches up
STATUS_COALESCE = 0.2  # counter changes are batched into one status per this interval
MAX_READS_PER_WAKE = 16  # a flooding device must not starve the command socket
REPLY_EVENTS_PER_SECOND = 20
TEXT_LIMIT = 200
DEDUP_WINDOW = 20_000  # recent (sender, seq) pairs remembered to discard resent duplicates


def _short(data: bytes | str) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "..."


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    # Notice a silently dead device within seconds, even when no cue is being sent.
    for option, value in (("TCP_KEEPIDLE", 2), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3),
                          ("TCP_USER_TIMEOUT", 5000)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class Actor:
    def __init__(self, name: str, emit: Callable[[Message], None],
                 clock: Callable[[], float] = time.time):
        self.name = name
        self.device: Device | None = None
        self.emit = emit
        self.clock = clock
        self.queue = CommandQueue()
        self.sock: socket.socket | None = None
        self.state = states.CONNECTING
        self.since = clock()
        self.peer = ""
        self.connected_at = 0.0
        self.connect_deadline = 0.0
        self.retry_at = 0.0
        self.backoff = Backoff(0.5, 10.0)
        self.counters = {"sent": 0, "dropped": 0, "replies": 0, "reply_bytes": 0, "connects": 0}
        self.last = {"error": ("", 0.0), "command": ("", 0.0), "reply": ("", 0.0)}
        self._status_due = 0.0
        self._heartbeat_due = 0.0
        self._reply_window = (0.0, 0)
        self._acks: dict[bytes, list[int]] = {}
        self._seen: set[tuple[bytes, int]] = set()
        self._seen_order: deque[tuple[bytes, int]] = deque()

    # ---- configuration -------------------------------------------------------------------

    def configure(self, device: Device | None) -> None:
        """Apply desired state. None means the device was removed: stop using it."""
        old = self.device
        self.device = device
        if device is None or not device.enabled:
            self._close()
            self._set_state(states.DISABLED, "removed" if device is None else "disabled")
            self._drop_all("device disabled" if device else "device removed")
            return
        self.backoff.minimum, self.backoff.maximum = device.backoff_min, device.backoff_max
        moved = old is None or (old.host, old.port) != (device.host, device.port)
        if moved or self.state == states.DISABLED:
            if old is not None and moved:
                log.info("%s: address changed to %s:%s", self.name, device.host, device.port)
            self._close()
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
        self._acks.setdefault(item.peer, []).append(item.command.seq)

    def take_acks(self) -> dict[bytes, list[int]]:
        acks, self._acks = self._acks, {}
        return acks

    def _flush(self) -> None:
        assert self.sock is not None and self.device is not None
        while (item := self.queue.head()) is not None:
            if item.offset == 0:
                age = self.clock() - item.command.received_at
                if age > self.device.ttl:
                    self.queue.pop()
                    self._drop(item, f"expired: {age:.1f}s old, TTL {self.device.ttl:g}s")
                    continue
                # The terminator is the device's current one, even for commands queued earlier.
                item.data = item.command.data
                if item.command.terminate:
                    item.data += self.device.terminator_bytes
            try:
                written = self.sock.send(item.data[item.offset:])
            except BlockingIOError:
                return  # kernel buffer full: poll for POLLOUT
            except OSError as exc:
                self._lost(f"send failed: {exc.strerror or exc}")
                return
            item.offset += written
            if item.offset < len(item.data):
                return
            self.queue.pop()
            self._ack(item)
            log.debug("%s: sent #%d %r", self.name, item.command.seq, item.data)
            self.counters["sent"] += 1
            text = _short(item.command.data)
            self.last["command"] = (text, self.clock())
            self.emit(Event("device", "sent", text, device=self.name, sender=item.command.sender))
            self._status_soon()

    def _drop(self, item: Pending, reason: str) -> None:
        self._ack(item)
        command = item.command
        self.counters["dropped"] += 1
        text = _short(command.data)
        log.warning("%s: dropped %r from %s: %s", self.name, text, command.sender or "?", reason)
        self.emit(Event("device", "dropped", f"{text!r}: {reason}", device=self.name,
                        sender=command.sender))
        self._status_soon()

    def _drop_all(self, reason: str) -> None:
        while self.queue.head() is not None:
            self._drop(self.queue.pop(), reason)

    def expire(self) -> None:
        ttl = self.device.ttl if self.device else 10.0
        for item in self.queue.take_expired(self.clock(), ttl):
            age = self.clock() - item.command.received_at
            self._drop(item, f"expired while waiting: {age:.1f}s old, TTL {ttl:g}s")

    # ---- connection --------------------------------------------------------------------------

    def _start_connect(self) -> None:
        assert self.device is not None
        host, port = self.device.host, self.device.port
        self.peer = f"{host}:{port}"
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
            sock = socket.socket(info[0], socket.SOCK_STREAM)
            sock.setblocking(False)
            _tune(sock)
            code = sock.connect_ex(info[4])
        except OSError as exc:
            self._retry_later(f"cannot connect to {self.peer}: {exc}")
            return
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self._retry_later(f"cannot connect to {self.peer}: {os.strerror(code)}")
            return
        self.sock = sock
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
        self._close()
        self.queue.rewind()
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

    def _close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def shutdown(self) -> None:
        self._close()
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
        if self.state != states.CONNECTED:
            self.expire()
        if now >= self._heartbeat_due or (self._status_due and now >= self._status_due):
            self.emit(self.status())
            self._status_due = 0.0
            self._heartbeat_due = now + HEARTBEAT

    def next_timeout(self) -> float:
        """Seconds until tick() has something to do."""
        now = self.clock()
        due = [self._heartbeat_due, now + 0.5]
        if self._status_due:
            due.append(self._status_due)
        if self.state == states.CONNECTING:
            due.append(self.connect_deadline)
        elif self.state == states.WAITING:
            due.append(self.retry_at)
        return max(0.0, min(due) - now)

    def wants_write(self) -> bool:
        return self.state == states.CONNECTING or (
            self.state == states.CONNECTED and self.queue.head() is not None
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
            peer=self.peer, queued=len(self.queue),
            last_error=self.last["error"][0], last_error_at=self.last["error"][1],
            last_command=self.last["command"][0], last_command_at=self.last["command"][1],
            last_reply=self.last["reply"][0], last_reply_at=self.last["reply"][1],
            next_retry_at=self.retry_at if self.state == states.WAITING else 0.0,
            **self.counters,
        )
