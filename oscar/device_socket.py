"""Opening a device's socket, and reading how much of what we wrote its TCP stack has taken.

TCP: a tuned non-blocking socket whose connect is under way (``dial``). UDP: a *connected*
datagram socket (``dial_udp``), so replies come only from the device and an ICMP port
unreachable shows as ``ECONNREFUSED`` on the next send or receive.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys

try:
    import fcntl
except ImportError:  # not on every platform; the fallback below needs none
    fcntl = None  # type: ignore[assignment]

# Our kernel's send buffer: small, so little can wait where we cannot see or drop it (Linux
# doubles the value asked for).
SEND_BUFFER = 16 * 1024
SIOCOUTQ = 0x5411  # Linux: bytes on a TCP socket not yet acknowledged by the peer (= TIOCOUTQ)


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


Option = tuple[str, int]


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    # Notice a silently dead device within seconds, even when no cue is being sent. macOS
    # names the idle time TCP_KEEPALIVE and has no TCP_USER_TIMEOUT; each one is optional.
    for option, value in KEEPALIVE_OPTIONS:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
        except OSError:
            pass  # an older kernel without it: SO_KEEPALIVE's defaults still apply


def keepalive_options(names: frozenset[str] = frozenset(dir(socket))) -> tuple[Option, ...]:
    """The TCP keep-alive options this platform's socket module has, with our values: idle
    2 s (Linux TCP_KEEPIDLE, macOS TCP_KEEPALIVE), probe every 1 s, 3 probes, and on Linux
    TCP_USER_TIMEOUT 5 s for written bytes never acknowledged."""
    idle = "TCP_KEEPIDLE" if "TCP_KEEPIDLE" in names else "TCP_KEEPALIVE"
    wanted = ((idle, 2), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 5000))
    return tuple((name, value) for name, value in wanted if name in names)


KEEPALIVE_OPTIONS = keepalive_options()


def _resolvable(host: str) -> str | bytes:
    """``host`` for getaddrinfo: an ASCII name as bytes. Given text, the socket module encodes
    it with the "idna" codec, whose import (stringprep, unicodedata) cost each actor about 13 M
    instructions and 0.8 MB at its first connect; only a non-ASCII name needs that codec."""
    return host.encode("ascii") if host.isascii() else host


def dial(host: str, port: int) -> socket.socket:
    """A tuned non-blocking TCP socket with its connect under way; OSError if it cannot
    start."""
    info = socket.getaddrinfo(_resolvable(host), port, type=socket.SOCK_STREAM)[0]
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


def dial_udp(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket connected to the device (no packet is sent by connecting);
    OSError if the address does not resolve."""
    info = socket.getaddrinfo(_resolvable(host), port, type=socket.SOCK_DGRAM)[0]
    sock = socket.socket(info[0], socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.connect(info[4])
    except BaseException:
        sock.close()
        raise
    return sock
