"""Connections to feedback targets (``udp://`` and ``tcp://``, see oscar.feedback_targets).

Nothing here may slow the listener: every socket is non-blocking, host names are resolved in a
background thread, and each target has a bounded outbox. What cannot be sent (outbox full, no
route, target gone) is dropped and counted in the listener's counters:

- ``feedback_sent``: OSC packets handed whole to a target's socket;
- ``feedback_dropped``: packets dropped (outbox full, send error, target removed);
- ``feedback_queued``: packets waiting in outboxes now (a gauge).

TCP targets get SLIP frames (double END, as QLab and Companion read them) and reconnect with a
growing backoff; what is queued while they are away (at most OUTBOX_PACKETS, the oldest dropped
first) is sent after they come back, followed by the current state of every device.

The links register their sockets with the listener's poller (``oscar.event_poll``) themselves;
the listener hands poll events for their file descriptors to ``Links.on_ready``.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable

import zmq

from oscar import event_poll
from oscar.backoff import Backoff
from oscar.feedback_targets import Target
from oscar.framing import slip_encode
from oscar.ratelimit import RateLimiter

log = logging.getLogger(__name__)

OUTBOX_PACKETS = 1000  # per target
OUTBOX_BYTES = 1 << 20  # per target
READ_LIMIT = 65536  # bytes a TCP target may send us per turn (read and thrown away)
CONNECT_TIMEOUT = 3.0
BACKOFF_MIN = 0.5
BACKOFF_MAX = 10.0
COUNTERS = ("feedback_sent", "feedback_dropped", "feedback_queued")

Resolved = tuple[int, tuple]  # (address family, socket address)


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(target: Target, kind: int) -> Resolved:
    """getaddrinfo for the target; the first answer. Blocking: called in a worker thread
    (or directly for IP literals, which need no lookup)."""
    family, _, _, _, address = socket.getaddrinfo(target.host, target.port, type=kind)[0]
    return family, address


class Lookup:
    """One name lookup in a daemon thread (a hung resolver never delays the listener's exit)."""

    def __init__(self, target: Target, kind: int):
        self.result: Resolved | None = None
        self.error: Exception | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(target, kind), daemon=True,
                         name="feedback-lookup").start()

    def _run(self, target: Target, kind: int) -> None:
        try:
            self.result = resolve(target, kind)
        except Exception as exc:  # OSError, UnicodeError (an IDNA label too long)...
            self.error = exc
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()


class Link:
    """One target. Subclasses: UdpLink, TcpLink."""

    kind = socket.SOCK_DGRAM

    def __init__(self, target: Target, links: Links):
        self.target = target
        self.links = links
        self.counters = links.counters
        self.sock: socket.socket | None = None
        self.fd = -1
        self.address: Resolved | None = None
        self.outbox: deque[bytes] = deque()
        self.outbox_bytes = 0
        self._lookup: Lookup | None = None
        self._flags = 0
        self.state = "resolving"
        self.retry_at = 0.0
        self.backoff = Backoff(BACKOFF_MIN, BACKOFF_MAX)
        self.last_error = ""

    def __str__(self) -> str:
        return str(self.target)

    # ---- outbox ------------------------------------------------------------------------------

    def queue(self, packet: bytes) -> None:
        """Keep ``packet`` to send when the target is ready; the oldest goes when full."""
        self.outbox.append(packet)
        self.outbox_bytes += len(packet)
        self.counters["feedback_queued"] += 1
        while len(self.outbox) > OUTBOX_PACKETS or (
                self.outbox_bytes > OUTBOX_BYTES and len(self.outbox) > 1):
            self._discard(self.outbox.popleft())

    def _discard(self, packet: bytes) -> None:
        self.outbox_bytes -= len(packet)
        self.counters["feedback_queued"] -= 1
        self.counters["feedback_dropped"] += 1

    def _unqueue(self) -> bytes:
        packet = self.outbox.popleft()
        self.outbox_bytes -= len(packet)
        self.counters["feedback_queued"] -= 1
        return packet

    # ---- address lookup ----------------------------------------------------------------------

    def start(self) -> None:
        self._start_lookup()

    def _start_lookup(self) -> None:
        self.state = "resolving"
        if _literal(self.target.host):
            try:
                self._resolved(resolve(self.target, self.kind))
            except OSError as exc:
                self._failed(f"cannot use address: {exc}")
            return
        self._lookup = self.links.lookup(self.target, self.kind)

    def _check_lookup(self) -> None:
        lookup = self._lookup
        if lookup is None or not lookup.done():
            return
        self._lookup = None
        if lookup.result is None:
            self._failed(f"cannot resolve {self.target.host}: {lookup.error}")
        else:
            self._resolved(lookup.result)

    def _resolved(self, address: Resolved) -> None:
        raise NotImplementedError

    def _failed(self, reason: str) -> None:
        """Close, and try again after the backoff delay."""
        self._close_socket()
        delay = self.backoff.next_delay()
        self.retry_at = time.monotonic() + delay
        self.state = "waiting"
        if reason != self.last_error or self.links.limiter.allow(str(self.target)):
            log.warning("feedback target %s: %s; retrying in %.1fs", self.target, reason, delay)
        self.last_error = reason

    # ---- poller ------------------------------------------------------------------------------

    def _want(self, flags: int) -> None:
        if self.sock is None or flags == self._flags:
            return
        if flags:
            self.links.poller.register(self.sock, flags)
        else:
            self.links.poller.unregister(self.sock)
        self._flags = flags

    def _open(self, family: int) -> socket.socket:
        sock = socket.socket(family, self.kind)
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()
        self.links.fds[self.fd] = self
        return sock

    def _close_socket(self) -> None:
        if self.sock is None:
            return
        self._want(0)
        self.links.fds.pop(self.fd, None)
        self.sock.close()
        self.sock = None
        self.fd = -1

    def close(self) -> None:
        self._lookup = None  # its thread ends by itself; the answer is not used
        self._close_socket()
        while self.outbox:
            self._discard(self.outbox.popleft())
        self.state = "closed"

    # ---- to override -------------------------------------------------------------------------

    def send(self, packet: bytes) -> None:
        raise NotImplementedError

    def on_ready(self, flags: int) -> None:
        pass

    def tick(self, now: float) -> None:
        if self.state == "resolving":
            self._check_lookup()
        elif self.state == "waiting" and now >= self.retry_at:
            self._start_lookup()


class UdpLink(Link):
    """One datagram per OSC packet. The kernel's send buffer is the outbox: a datagram it
    cannot take now is dropped and counted, never waited for."""

    kind = socket.SOCK_DGRAM

    def _resolved(self, address: Resolved) -> None:
        family, sockaddr = address
        self._close_socket()
        try:
            self._open(family)
        except OSError as exc:
            self._failed(f"cannot open a UDP socket: {exc}")
            return
        self.address = (family, sockaddr)
        self.state = "ready"
        self.backoff.reset()
        while self.outbox:
            self._sendto(self._unqueue())
        self.links.on_ready_target(self)

    def send(self, packet: bytes) -> None:
        if self.state != "ready":
            self.queue(packet)
            return
        self._sendto(packet)

    def _sendto(self, packet: bytes) -> None:
        assert self.sock is not None and self.address is not None
        try:
            self.sock.sendto(packet, self.address[1])
        except OSError as exc:
            # EAGAIN/ENOBUFS: buffer full; ECONNREFUSED: an earlier datagram met a closed port
            # (reported once by the kernel). Either way this one is lost; the target stays.
            self.counters["feedback_dropped"] += 1
            if exc.errno not in (errno.EAGAIN, errno.ECONNREFUSED) and \
                    self.links.limiter.allow(str(self.target)):
                log.warning("feedback target %s: %s", self.target, exc)
            return
        self.counters["feedback_sent"] += 1


class TcpLink(Link):
    """A TCP connection carrying SLIP-framed OSC, reconnected with backoff."""

    kind = socket.SOCK_STREAM

    def __init__(self, target: Target, links: Links):
        super().__init__(target, links)
        self.current = b""  # the frame being written, from its first unsent byte
        self.connect_deadline = 0.0

    def _resolved(self, address: Resolved) -> None:
        family, sockaddr = address
        self._close_socket()
        try:
            sock = self._open(family)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(sockaddr)
        except OSError as exc:
            self._failed(f"cannot connect: {exc}")
            return
        if code not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self._failed(f"cannot connect: {errno.errorcode.get(code, code)}")
            return
        self.address = address
        self.state = "connecting"
        self.connect_deadline = time.monotonic() + CONNECT_TIMEOUT
        self._want(zmq.POLLOUT)

    def _failed(self, reason: str) -> None:
        self._drop_current()
        super()._failed(reason)

    def _drop_current(self) -> None:
        if self.current:  # a frame cut short: the target never gets the rest
            self.current = b""
            self.counters["feedback_dropped"] += 1

    def close(self) -> None:
        self._drop_current()
        super().close()

    def send(self, packet: bytes) -> None:
        self.queue(slip_encode(packet))
        if self.state == "connected":
            self._write()

    def _write(self) -> None:
        sock = self.sock
        assert sock is not None
        while True:
            if not self.current:
                if not self.outbox:
                    break
                self.current = self._unqueue()
            try:
                written = sock.send(self.current)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._failed(f"connection lost: {exc.strerror or exc}")
                return
            self.current = self.current[written:]
            if not self.current:
                self.counters["feedback_sent"] += 1
        self._want(zmq.POLLIN | (zmq.POLLOUT if self.current or self.outbox else 0))

    def on_ready(self, flags: int) -> None:
        if self.sock is None:
            return
        if self.state == "connecting":
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self._failed(f"cannot connect: {errno.errorcode.get(code, code)}")
                return
            if not flags & zmq.POLLOUT:
                return
            self.state = "connected"
            self.backoff.reset()
            self.last_error = ""
            log.info("feedback target %s connected", self.target)
            self.links.on_ready_target(self)
            self._write()
            return
        if flags & (zmq.POLLIN | zmq.POLLERR):
            try:
                data = self.sock.recv(READ_LIMIT)  # a target may talk: we do not listen
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError as exc:
                self._failed(f"connection lost: {exc.strerror or exc}")
                return
            if data == b"":
                self._failed("closed by the target")
                return
        if flags & zmq.POLLOUT and self.state == "connected":
            self._write()

    def tick(self, now: float) -> None:
        if self.state == "connecting" and now >= self.connect_deadline:
            self._failed(f"no answer within {CONNECT_TIMEOUT:g}s")
            return
        super().tick(now)


class Links:
    """Every target's link, keyed by Target; poll events by file descriptor."""

    def __init__(self, poller: event_poll.Poller, counters: dict[str, int],
                 on_ready_target: Callable[[Link], None] = lambda link: None):
        self.poller = poller
        self.counters = counters
        for name in COUNTERS:
            counters.setdefault(name, 0)
        self.on_ready_target = on_ready_target  # a target became ready: send it the states
        self.links: dict[Target, Link] = {}
        self.fds: dict[int, Link] = {}
        self.limiter = RateLimiter(1, max_keys=256)  # log lines per target per second

    def lookup(self, target: Target, kind: int) -> Lookup:
        return Lookup(target, kind)

    def set_targets(self, targets: list[Target]) -> list[Link]:
        """Open links to new targets, close links to targets no longer listed; returns the
        new links."""
        wanted = set(targets)
        for target in [t for t in self.links if t not in wanted]:
            self.links.pop(target).close()
            log.info("feedback target %s removed", target)
        added = []
        for target in targets:
            if target in self.links:
                continue
            link: Link = TcpLink(target, self) if target.scheme == "tcp" else UdpLink(target, self)
            self.links[target] = link
            log.info("feedback target %s added", target)
            link.start()
            added.append(link)
        return added

    def send(self, packet: bytes) -> None:
        for link in self.links.values():
            link.send(packet)

    def owns(self, fd: int) -> bool:
        return fd in self.fds

    def on_ready(self, fd: int, flags: int) -> None:
        link = self.fds.get(fd)
        if link is None:
            return
        try:
            link.on_ready(flags)
        except Exception:  # a bug must not stop the listener: count it, start the link over
            self.counters["feedback_errors"] = self.counters.get("feedback_errors", 0) + 1
            if self.limiter.allow("internal"):
                log.exception("feedback target %s failed", link.target)
            link._failed("internal error")

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for link in list(self.links.values()):
            link.tick(now)

    def describe(self) -> list[dict[str, str]]:
        return [{"target": str(link.target), "state": link.state, "last_error": link.last_error,
                 "queued": str(len(link.outbox))} for link in self.links.values()]

    def close(self) -> None:
        for link in self.links.values():
            link.close()
        self.links.clear()
