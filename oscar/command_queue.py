"""Where an actor's commands are between arriving and being taken by the device.

``CommandQueue``: waiting to be written, oldest first, each worth writing only within TTL.
``InFlight``: written (whole or in part) to one connection, not yet acknowledged by the device's
TCP stack. A command counts as sent only when it leaves InFlight acknowledged; bytes that sit in
our own kernel are still ours to drop if the device stops reading.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

from oscar.messages import Command
from oscar.records import record

MAX_QUEUED = 10_000


@record
class Pending:
    command: Command
    peer: bytes = b""  # who sent it (ZeroMQ routing id), to ack it
    data: bytes = b""  # wire bytes, terminator included: fixed when writing starts
    offset: int = 0  # bytes already written on the current connection
    end: int = 0  # byte count on the connection at which this command ends (InFlight only)
    acked: bool = False  # told the listener it is done with (once, even if written again)

    @property
    def written(self) -> bool:
        return self.offset >= len(self.data)


class CommandQueue:
    def __init__(self, limit: int = MAX_QUEUED):
        self._items: deque[Pending] = deque()
        self.limit = limit

    def __len__(self) -> int:
        return len(self._items)

    def push(self, pending: Pending) -> bool:
        """False when full: the caller drops and reports the command."""
        if len(self._items) >= self.limit:
            return False
        self._items.append(pending)
        return True

    def extend(self, items: list[Pending]) -> int:
        """push() each in turn: how many were taken (the rest did not fit)."""
        room = self.limit - len(self._items)
        if len(items) <= room:  # the usual case: all of them
            self._items.extend(items)
            return len(items)
        taken = room if room > 0 else 0
        self._items.extend(items[:taken])
        return taken

    def head(self) -> Pending | None:
        return self._items[0] if self._items else None

    def pop(self) -> Pending:
        return self._items.popleft()

    def following(self, limit: int) -> Iterable[Pending]:
        """Up to ``limit`` commands after the head, in order (not removed)."""
        return islice(self._items, 1, limit + 1)

    def requeue(self, items: Iterable[Pending]) -> None:
        """Put commands a lost connection never delivered back in front, in their order, to go
        again whole (they may briefly exceed the limit: they were accepted already)."""
        for item in reversed(list(items)):
            item.offset = item.end = 0
            self._items.appendleft(item)

    def take_expired(self, now: float, ttl: float) -> list[Pending]:
        """Remove and return the commands too old to write."""
        expired = []
        kept: deque[Pending] = deque()
        for item in self._items:
            if now - item.command.received_at > ttl:
                expired.append(item)
            else:
                kept.append(item)
        self._items = kept
        return expired


class InFlight:
    """The commands written to one connection and not yet acknowledged by the device.

    ``written`` counts every byte handed to ``send()`` on this connection; each command records
    the count at which it ends. Given how many bytes the kernel still holds unacknowledged, the
    commands ending at or before ``written - unacked`` have been taken by the device.
    """

    def __init__(self) -> None:
        self._items: deque[Pending] = deque()
        self.written = 0
        # Sliding-window minimum of received_at (cues are nearly, not strictly, in age order:
        # a scheduled cue carries its due time), so the stale check is O(1).
        self._ages: deque[Pending] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def start(self, item: Pending) -> None:
        """``item`` (data fixed, offset 0) is about to be written after everything before it."""
        item.offset = 0
        item.end = self.written + len(item.data)
        self._items.append(item)
        received = item.command.received_at
        while self._ages and self._ages[-1].command.received_at > received:
            self._ages.pop()
        self._ages.append(item)

    def start_written(self, items: list[Pending], count: int) -> int:
        """start() then wrote() for ``items`` in order, ``count`` bytes of them handed to one
        send(): how many were started (those the kernel took no byte of are not)."""
        started = 0
        for item in items:
            size = len(item.data)
            if not count and size:
                break
            self.start(item)
            took = size if count >= size else count
            item.offset = took
            self.written += took
            count -= took
            started += 1
        return started

    def partial(self) -> Pending | None:
        """The command being written, if its bytes are not all handed over yet: nothing else
        may follow it on this connection."""
        if self._items and not self._items[-1].written:
            return self._items[-1]
        return None

    def wrote(self, item: Pending, count: int) -> None:
        item.offset += count
        self.written += count

    def skip(self, count: int) -> None:
        """``count`` bytes that are no command (login, on_connect, keep-alive) were written:
        they take room on the connection too, so later commands end further on."""
        self.written += count

    def take_acked(self, unacked: int) -> list[Pending]:
        """Remove and return, oldest first, the commands the device has acknowledged whole."""
        acked = self.written - max(0, unacked)
        items, ages = self._items, self._ages
        done = []
        while items:
            item = items[0]
            if item.end > acked or item.offset < len(item.data):
                break
            done.append(items.popleft())
            if ages and ages[0] is item:
                ages.popleft()
        return done

    def oldest_received(self) -> float | None:
        return self._ages[0].command.received_at if self._ages else None

    def clear(self) -> list[Pending]:
        """Remove and return everything (the connection is gone)."""
        items = list(self._items)
        self._items.clear()
        self._ages.clear()
        return items
