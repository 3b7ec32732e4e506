"""Who may keep an OSC TCP connection open, with no sockets in it.

A rack may hold a few hundred controllers' connections, and a peer may open connections and
never send: both must not lock out the operator's QLab. So connections idle longer than the
timeout are closed, and at the limit the one idle the longest is closed to admit the newcomer
(rather than refusing the newcomer, who is the one trying to send a cue now).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class ClientTable:
    def __init__(self, max_clients: int, idle_timeout: float):
        if max_clients < 1:
            raise ValueError("max_clients must be at least 1")
        self.max_clients = max_clients
        self.idle_timeout = idle_timeout
        # Least recently active first: the head is always the oldest idle client.
        self._last: OrderedDict[Hashable, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._last)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._last

    def admit(self, key: Hashable, now: float) -> list[Hashable]:
        """Add a new client; returns the clients to close to make room for it (oldest idle)."""
        evicted: list[Hashable] = []
        while len(self._last) >= self.max_clients:
            oldest, _ = self._last.popitem(last=False)
            evicted.append(oldest)
        self._last[key] = now
        return evicted

    def touch(self, key: Hashable, now: float) -> None:
        if key in self._last:
            self._last[key] = now
            self._last.move_to_end(key)

    def remove(self, key: Hashable) -> None:
        self._last.pop(key, None)

    def idle(self, now: float) -> list[Hashable]:
        """Clients silent for longer than the idle timeout (removed from the table)."""
        out: list[Hashable] = []
        while self._last:
            key, last = next(iter(self._last.items()))
            if now - last <= self.idle_timeout:
                break
            del self._last[key]
            out.append(key)
        return out

    def next_deadline(self) -> float | None:
        """When the oldest idle client will have been idle too long."""
        if not self._last:
            return None
        return next(iter(self._last.values())) + self.idle_timeout
