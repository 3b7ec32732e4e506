"""Small pyzmq helpers shared by the processes."""

from __future__ import annotations

import logging
import signal

import zmq

from oscar.messages import DecodeError, Message, decode

log = logging.getLogger(__name__)


def socket(ctx: zmq.Context, kind: int, **options: int) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)  # never hang on exit waiting for a peer that is gone
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name), value)
    return sock


def send(sock: zmq.Socket, message: Message) -> bool:
    """Send without blocking; False when the peer's queue is full (the caller counts it)."""
    try:
        sock.send_multipart(message.encode(), flags=zmq.NOBLOCK)
        return True
    except zmq.Again:
        return False


def receive(sock: zmq.Socket, counters: dict[str, int] | None = None) -> Message | None:
    """One message, or None (logged and counted) when it does not decode."""
    return _decode(sock, sock.recv_multipart(flags=zmq.NOBLOCK), counters)


def _decode(sock: zmq.Socket, frames: list[bytes],
            counters: dict[str, int] | None) -> Message | None:
    try:
        return decode(frames)
    except DecodeError as exc:
        if counters is not None:
            counters["bad_messages"] = counters.get("bad_messages", 0) + 1
        log.warning("ignored undecodable message on %s: %s", sock.get(zmq.LAST_ENDPOINT) or "?",
                    exc)
        return None


def drain(sock: zmq.Socket, counters: dict[str, int] | None = None, limit: int = 512):
    """Yield the decodable messages waiting on ``sock``, at most ``limit`` per call so one busy
    socket cannot starve the rest of a poll loop."""
    for _ in range(limit):
        if not sock.poll(0):
            return
        message = receive(sock, counters)
        if message is not None:
            yield message


def drain_routed(sock: zmq.Socket, counters: dict[str, int] | None = None, limit: int = 512):
    """Like drain(), for a ROUTER: yields (sender's routing id, message)."""
    for _ in range(limit):
        if not sock.poll(0):
            return
        peer, *frames = sock.recv_multipart(flags=zmq.NOBLOCK)
        message = _decode(sock, frames, counters)
        if message is not None:
            yield peer, message


class StopFlag:
    """SIGTERM/SIGINT set this; loops check it between polls and shut down cleanly."""

    def __init__(self) -> None:
        self.stop = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_: object) -> None:
        self.stop = True
