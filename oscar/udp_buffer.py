"""The OSC UDP socket's kernel receive buffer: as large as the system allows, and its drops
made visible.

A burst of cues (a show's GO with many fades, a flood) waits in this buffer while the
listener catches up; what does not fit is dropped by the kernel, silently unless someone
looks. Linux counts those drops per socket in /proc/net/udp (and udp6), read here at the
listener's heartbeat and reported as the ``udp_kernel_drops`` counter.

Sizing: Linux caps SO_RCVBUF at ``net.core.rmem_max`` without an error; a process with
CAP_NET_ADMIN (root) may go beyond with SO_RCVBUFFORCE. macOS refuses sizes above
``kern.ipc.maxsockbuf`` with an error, so smaller sizes are tried in turn.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

log = logging.getLogger(__name__)

WANTED = 16 * 1024 * 1024  # about 13 000 small datagrams: most of a second at 20 000 cues/s
FALLBACKS = (4 * 1024 * 1024, 1024 * 1024)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform == "linux" else None)
PROC_FILES = ("/proc/net/udp", "/proc/net/udp6")


def size_receive_buffer(sock: socket.socket, wanted: int = WANTED) -> int:
    """Ask for ``wanted`` bytes of receive buffer; returns the bytes the kernel granted."""
    if not _force(sock, wanted):  # not privileged: SO_RCVBUF, capped by net.core.rmem_max
        for size in (wanted, *FALLBACKS):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
                break
            except OSError:
                log.debug("UDP receive buffer of %d bytes refused; trying less", size)
    actual = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if sys.platform == "linux":
        actual //= 2  # Linux reports twice the size asked for (its bookkeeping overhead)
    return actual


def _force(sock: socket.socket, wanted: int) -> bool:
    """SO_RCVBUFFORCE (Linux, CAP_NET_ADMIN): True when it was allowed."""
    if SO_RCVBUFFORCE is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, wanted)
        return True
    except OSError:
        return False


def advice(actual: int, wanted: int = WANTED) -> str:
    """What to tell the operator when the buffer is smaller than wanted ('' when it is not)."""
    if actual >= wanted:
        return ""
    if sys.platform == "linux":
        return (f"UDP receive buffer is {actual // 1024} KiB, less than the "
                f"{wanted // 1024} KiB wanted: a burst of cues may be dropped by the kernel "
                f"(counted as udp_kernel_drops). Raise it with: sysctl -w "
                f"net.core.rmem_max={wanted}")
    return (f"UDP receive buffer is {actual // 1024} KiB, less than the {wanted // 1024} KiB "
            "wanted: a burst of cues may be dropped by the kernel")


class KernelDrops:
    """The kernel's count of datagrams dropped on one UDP socket (Linux; None elsewhere)."""

    def __init__(self, sock: socket.socket):
        try:
            self.inode = str(os.fstat(sock.fileno()).st_ino)
        except OSError:
            self.inode = ""

    def read(self) -> int | None:
        if not self.inode:
            return None
        for path in PROC_FILES:
            try:
                with open(path, encoding="ascii", errors="replace") as handle:
                    next(handle, None)  # the header line
                    for line in handle:
                        fields = line.split()
                        # ... uid timeout inode ref pointer drops: inode is field 9.
                        if len(fields) >= 13 and fields[9] == self.inode:
                            return int(fields[-1])
            except (OSError, ValueError):
                continue
        return None
