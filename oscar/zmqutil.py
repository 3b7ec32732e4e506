"""Small pyzmq helpers shared by the processes."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator

import zmq

from oscar import signal_wakeup
from oscar.messages import DecodeError, Message, cap, decode
from oscar.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# ZMQ_MAXMSGSIZE per receiving socket: a peer that sends a bigger frame is disconnected by
# ZeroMQ before the frame is kept in memory. ZeroMQ checks each frame on its own; docs/protocol.md
# lists these and what they leave open.
KIB = 1024
MAX_CONTROL = 1024 * KIB  # a request: an import of thousands of devices fits
MAX_EVENT = 64 * KIB  # events and status reports: ~1 KB each, their text fields capped
MAX_COMMAND = 256 * KIB  # a command: at most one OSC packet (64 KiB) of data
MAX_ACK = 1024 * KIB  # acks from an actor to the listener: a list of sequence numbers
MAX_CONFIG = 16 * 1024 * KIB  # config PUB to SUB: a snapshot of every device
MAX_ENVELOPE = 8  # routing frames in front of a control request (REQ adds one)

# Undecodable messages are logged at most this often per socket (each one is counted).
_bad_log = RateLimiter(per_second=5)


def socket(ctx: zmq.Context, kind: int, **options: int) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)  # never hang on exit waiting for a peer that is gone
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name), value)
    return sock


def bind(sock: zmq.Socket, endpoint: str, home=None) -> None:
    """``sock.bind(endpoint)``, as a CURVE server when the endpoint is tcp:// (oscar.keys);
    ``home`` is the OSCAR_HOME holding the keys (default: this process's settings)."""
    _secure(sock, endpoint, home, server=True)
    sock.bind(endpoint)
    if endpoint.startswith("ipc://"):
        _bound_ipc.append(endpoint[len("ipc://"):])


_bound_ipc: list[str] = []  # socket files this process bound


def remove_ipc_files() -> None:
    """After the context is terminated: remove the socket files this process bound (ZeroMQ
    leaves them behind on close)."""
    while _bound_ipc:
        try:
            os.unlink(_bound_ipc.pop())
        except OSError:
            pass  # already gone


def connect(sock: zmq.Socket, endpoint: str, home=None) -> None:
    """``sock.connect(endpoint)``, as a CURVE client when the endpoint is tcp://."""
    _secure(sock, endpoint, home, server=False)
    sock.connect(endpoint)


def _secure(sock: zmq.Socket, endpoint: str, home, server: bool) -> None:
    # oscar.keys only for tcp://: ipc:// needs no keys, and its import (CURVE, Z85, TOML)
    # would cost every actor's start a few ms and its memory 0.1 MB.
    if endpoint.startswith("tcp://"):
        from oscar import keys

        keys.secure(sock, endpoint, home, server=server)


# Plain int flags and one send()/recv() per frame: pyzmq's send_multipart/recv_multipart spend
# most of their time on enum arithmetic (a quarter of a cue's cost on the hot path).
_NOBLOCK = int(zmq.NOBLOCK)
_SNDMORE = int(zmq.NOBLOCK | zmq.SNDMORE)
_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)


def send_frames(sock: zmq.Socket, frames: list[bytes]) -> None:
    """Send a multipart message without blocking; zmq.Again (nothing sent) when the peer's
    queue is full. ZeroMQ delivers a multipart message whole or not at all, and refuses it
    only at its first frame."""
    last = len(frames) - 1
    for index, frame in enumerate(frames):
        sock.send(frame, _SNDMORE if index < last else _NOBLOCK)


def recv_frames(sock: zmq.Socket) -> list[bytes]:
    """One whole multipart message, without blocking (zmq.Again when none is waiting). A
    frame's ``more`` says whether another follows: cheaper than asking the socket for RCVMORE,
    which pyzmq turns into an enum lookup per frame."""
    frame = sock.recv(_NOBLOCK, copy=False)
    frames = [frame.bytes]
    while frame.more:
        frame = sock.recv(_NOBLOCK, copy=False)
        frames.append(frame.bytes)
    return frames


def send(sock: zmq.Socket, message: Message) -> bool:
    """Send without blocking; False when the peer's queue is full (the caller counts it)."""
    try:
        send_frames(sock, message.encode())
        return True
    except zmq.Again:
        return False


def receive(sock: zmq.Socket, counters: dict[str, int] | None = None) -> Message | None:
    """One message, or None (logged and counted) when it does not decode or is not there."""
    try:
        frames = recv_frames(sock)
    except zmq.Again:
        return None
    return _decode(sock, frames, counters)


def _decode(sock: zmq.Socket, frames: list[bytes],
            counters: dict[str, int] | None) -> Message | None:
    try:
        return decode(frames)
    except DecodeError as exc:
        count_bad(sock, counters, str(exc))
        return None


def count_bad(sock: zmq.Socket, counters: dict[str, int] | None, reason: str) -> None:
    """Count one refused message as ``bad_messages`` and log it, rate-limited and short."""
    if counters is not None:
        counters["bad_messages"] = counters.get("bad_messages", 0) + 1
    endpoint = _endpoint(sock)
    if _bad_log.allow(endpoint):
        suppressed = _bad_log.suppressed.pop(endpoint, 0)
        log.warning("ignored undecodable message on %s: %s%s", endpoint, cap(reason, 200),
                    f" ({suppressed} more not logged)" if suppressed else "")


def _endpoint(sock: zmq.Socket) -> str:
    try:
        return sock.get(zmq.LAST_ENDPOINT).decode(errors="replace") or "?"
    except zmq.ZMQError:
        return "?"


def readable(sock: zmq.Socket) -> bool:
    """A whole message waits on ``sock`` (its EVENTS, as plain ints: no poller, no enum)."""
    return bool(sock.getsockopt(_EVENTS) & _POLLIN)


def _waiting(sock: zmq.Socket, limit: int, ready: bool = False,
             emptied: Callable[[zmq.Socket], None] | None = None) -> Iterator[list[bytes]]:
    """The multipart messages waiting on ``sock``, at most ``limit`` per call so one busy
    socket cannot starve the rest of a poll loop. The socket is asked whether one waits
    (EVENTS) rather than read until zmq.Again: an exception per drain was dear on a hot loop
    that takes one cue a turn. ``ready``: a poller just said so, read before asking; ``emptied``
    is called when the socket was found empty (event_poll.Poller.settle)."""
    for index in range(limit):
        if (index or not ready) and not readable(sock):
            if emptied is not None:
                emptied(sock)
            return
        try:
            frames = recv_frames(sock)
        except zmq.Again:
            return
        yield frames


def drain(sock: zmq.Socket, counters: dict[str, int] | None = None, limit: int = 512):
    """Yield the decodable messages waiting on ``sock`` (at most ``limit``)."""
    for frames in _waiting(sock, limit):
        message = _decode(sock, frames, counters)
        if message is not None:
            yield message


def drain_routed(sock: zmq.Socket, counters: dict[str, int] | None = None, limit: int = 512,
                 ready: bool = False, emptied: Callable[[zmq.Socket], None] | None = None):
    """Like drain(), for a ROUTER: yields (sender's routing id, message). ``ready`` and
    ``emptied``: see _waiting."""
    for peer, *frames in _waiting(sock, limit, ready, emptied):
        message = _decode(sock, frames, counters)
        if message is not None:
            yield peer, message


def drain_requests(sock: zmq.Socket, counters: dict[str, int] | None = None,
                   limit: int = 64) -> Iterator[tuple[list[bytes], Message | None, str]]:
    """Requests waiting on a ROUTER that stands in for REP: (envelope, message, error).

    A REQ peer sends ``[routing id(s)..., b"", topic, body]``. Frames with no empty delimiter
    (a DEALER, random bytes) cannot be answered and are counted and dropped; a request that
    is addressed properly but does not decode comes out with ``message`` None and ``error``
    saying why, so the caller can send a coded reply. Whatever arrives, nothing raises.
    """
    for frames in _waiting(sock, limit):
        try:
            split = frames.index(b"", 1, MAX_ENVELOPE + 1)
        except ValueError:
            count_bad(sock, counters, f"{len(frames)} frames without a request envelope")
            continue
        envelope, body = frames[:split], frames[split + 1:]
        try:
            yield envelope, decode(body), ""
        except DecodeError as exc:
            count_bad(sock, counters, str(exc))
            yield envelope, None, str(exc)


def reply(sock: zmq.Socket, envelope: list[bytes], message: Message) -> bool:
    """Answer a request from drain_requests(); False when the peer is gone or not reading."""
    try:
        send_frames(sock, [*envelope, b"", *message.encode()])
        return True
    except zmq.ZMQError:  # Again (peer's queue full); a ROUTER drops unroutable replies itself
        return False


class StopFlag:
    """SIGTERM/SIGINT set this; loops check it between polls and shut down cleanly.

    A poll that a signal interrupts is resumed for the rest of its timeout (PEP 475), so a
    loop that sleeps long also polls ``wakeup()``: readable once a signal arrived."""

    def __init__(self) -> None:
        self.stop = False
        self._wakeup = -1
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_: object) -> None:
        self.stop = True

    def wakeup(self) -> int:
        """A descriptor that becomes readable when a signal arrives (``drain`` it)."""
        if self._wakeup < 0:
            self._wakeup = signal_wakeup.pipe()
        return self._wakeup

    def drain(self) -> None:
        signal_wakeup.drain(self._wakeup)
