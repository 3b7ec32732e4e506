"""A poller for a loop that waits on ZeroMQ and plain sockets together, cheaper than zmq.Poller.

zmq.Poller (zmq_poll) asks every registered ZeroMQ socket for its EVENTS before sleeping and
again after waking, two system calls each, on every turn: a loop polling three ZeroMQ sockets
paid about twelve calls per cue even when only its UDP socket had news. This one keeps an
epoll set (poll() where there is no epoll) over the plain sockets and the ZeroMQ sockets'
notification descriptors (ZMQ_FD), and asks a ZeroMQ socket for EVENTS only when it may have
something its descriptor will not announce again.

ZMQ_FD is edge-like: it becomes readable when the socket has news, and any operation on the
socket can consume that notice while messages still wait. So a ZeroMQ socket is *unsettled*
once it was reported ready (the caller reads some of it) or ``touch``ed (the caller sent on
it), until the caller ``settle``s it (it found it empty). Before sleeping, the poller asks
each unsettled socket for EVENTS, and a socket with a message waiting is reported at once.
Callers read a ready ZeroMQ socket as they read one from zmq.Poller (until zmqutil.readable
says it is empty, or up to a limit); only POLLIN is supported for ZeroMQ sockets.

Same calls and results as zmq.Poller: ``register(sock, flags)`` (again: new flags; 0:
unregister), ``unregister``, ``poll(timeout_ms)`` -> [(ZeroMQ socket or plain socket's file
descriptor, zmq.POLLIN|POLLOUT|POLLERR)].
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

import zmq

POLLIN, POLLOUT, POLLERR = int(zmq.POLLIN), int(zmq.POLLOUT), int(zmq.POLLERR)
_EVENTS, _FD = int(zmq.EVENTS), int(zmq.FD)

if hasattr(select, "epoll"):
    _IN, _OUT, _ERR = select.EPOLLIN, select.EPOLLOUT, select.EPOLLERR | select.EPOLLHUP
else:  # macOS, BSD
    _IN, _OUT, _ERR = select.POLLIN, select.POLLOUT, select.POLLERR | select.POLLHUP


def _to_os(flags: int) -> int:
    return (_IN if flags & POLLIN else 0) | (_OUT if flags & POLLOUT else 0)


def _from_os(events: int) -> int:
    return ((POLLIN if events & _IN else 0) | (POLLOUT if events & _OUT else 0)
            | (POLLERR if events & _ERR else 0))


class _Epoll:
    """select.epoll with poll()'s timeout in milliseconds."""

    def __init__(self) -> None:
        self._ep = select.epoll()
        self.register, self.modify, self.unregister = (
            self._ep.register, self._ep.modify, self._ep.unregister)

    def poll(self, timeout_ms: int | None) -> list[tuple[int, int]]:
        return self._ep.poll(-1 if timeout_ms is None else timeout_ms / 1000)

    def close(self) -> None:
        self._ep.close()


def _nothing() -> None:
    pass


def _os_poller() -> Any:
    return _Epoll() if hasattr(select, "epoll") else select.poll()


class Poller:
    def __init__(self) -> None:
        self._os = _os_poller()
        self._fds: dict[Any, int] = {}  # registered object -> its descriptor (read once)
        # Descriptor -> the object registered with it now: a closed socket's number may come
        # back for a new socket before the old one is unregistered.
        self._owner: dict[int, Any] = {}
        self._zmq: dict[int, zmq.Socket] = {}  # ZMQ_FD -> its ZeroMQ socket
        self._unsettled: set[zmq.Socket] = set()
        self._wake_fd, self._wake_drain = -1, _nothing  # see wake_on

    def wake_on(self, fd: int, drain: Callable[[], None]) -> None:
        """poll() returns (with nothing for this) as soon as ``fd`` is readable, and calls
        ``drain``: a signal's wake-up pipe (zmqutil.StopFlag.wakeup), so a stop does not wait
        out a long timeout."""
        self._os.register(fd, _IN)
        self._wake_fd, self._wake_drain = fd, drain

    def register(self, sock: Any, flags: int = POLLIN | POLLOUT) -> None:
        if not flags:
            if sock in self._fds:
                self.unregister(sock)
            return
        is_zmq = isinstance(sock, zmq.Socket)
        if is_zmq and flags != POLLIN:
            raise ValueError("only POLLIN is supported for ZeroMQ sockets")
        fd = self._fds.get(sock)
        if fd is None:
            fd = sock.getsockopt(_FD) if is_zmq else (
                sock if isinstance(sock, int) else sock.fileno())
            try:
                self._os.register(fd, _to_os(flags))
            except FileExistsError:  # a closed socket's number, reused before unregister
                self._os.modify(fd, _to_os(flags))
            self._fds[sock] = fd
            self._owner[fd] = sock
            if is_zmq:
                self._zmq[fd] = sock
                self._unsettled.add(sock)  # it may hold messages from before
            else:
                self._zmq.pop(fd, None)
        else:
            self._os.modify(fd, _to_os(flags))

    def unregister(self, sock: Any) -> None:
        fd = self._fds.pop(sock)  # KeyError when not registered, as zmq.Poller
        self._unsettled.discard(sock)
        if self._owner.get(fd) is not sock:
            return  # its number belongs to a newer registration now
        del self._owner[fd]
        self._zmq.pop(fd, None)
        try:
            self._os.unregister(fd)
        except (OSError, KeyError):
            pass  # closed already: the kernel dropped it from the set

    def settle(self, sock: zmq.Socket) -> None:
        """``sock`` was just found empty (EVENTS): its descriptor announces what comes next."""
        self._unsettled.discard(sock)

    def touch(self, sock: zmq.Socket) -> None:
        """``sock`` was sent on: it may have taken in a notice of messages waiting."""
        if sock in self._fds:
            self._unsettled.add(sock)

    def poll(self, timeout: int | None = None) -> list[tuple[Any, int]]:
        ready: list[tuple[Any, int]] = []
        unsettled = self._unsettled
        if unsettled:
            for sock in unsettled:
                if sock.getsockopt(_EVENTS) & POLLIN:
                    ready.append((sock, POLLIN))
            unsettled.clear()
            if ready:
                timeout = 0
        found = self._os.poll(timeout)
        if found:
            zmq_fds, owner = self._zmq, self._owner
            for fd, events in found:
                sock = zmq_fds.get(fd)
                if sock is None:
                    if fd in owner:
                        ready.append((fd, _from_os(events)))
                    elif fd == self._wake_fd:
                        self._wake_drain()
                elif (sock, POLLIN) not in ready:
                    # Reported without asking EVENTS: the caller's read asks it anyway, and
                    # finds nothing when the notice was about something else.
                    ready.append((sock, POLLIN))
        for sock, _ in ready:
            if type(sock) is not int:
                unsettled.add(sock)  # the caller reads it now, maybe not to the end
        return ready

    def close(self) -> None:
        close = getattr(self._os, "close", None)  # select.poll has none
        if close is not None:
            close()

