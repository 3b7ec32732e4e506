"""Commands waiting to be written to a device, oldest first, each worth sending only within TTL."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from oscar.messages import Command

MAX_QUEUED = 10_000


@dataclass
class Pending:
    command: Command
    peer: bytes = b""  # who sent it (ZeroMQ routing id), to ack it
    data: bytes = b""  # wire bytes, terminator included: fixed when writing starts
    offset: int = 0  # bytes already written on the current connection


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

    def head(self) -> Pending | None:
        return self._items[0] if self._items else None

    def pop(self) -> Pending:
        return self._items.popleft()

    def rewind(self) -> None:
        """A connection was lost: a half-written command goes again whole on the next one."""
        if self._items:
            self._items[0].offset = 0

    def take_expired(self, now: float, ttl: float) -> list[Pending]:
        """Remove and return the commands too old to send. A half-written head stays: it must
        finish, or the device would see a torn command."""
        expired = []
        kept: deque[Pending] = deque()
        for item in self._items:
            if item.offset == 0 and now - item.command.received_at > ttl:
                expired.append(item)
            else:
                kept.append(item)
        self._items = kept
        return expired
