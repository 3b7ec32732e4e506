"""Cues from bundles with a future timetag, held until they are due. No sockets, no clock.

A heap ordered by (due time, arrival order): elements of one bundle share a due time and leave
in the order they came. The listener asks ``next_due()`` to shrink its poll timeout, so nothing
ever sleeps in a receive loop, and ``pop_due(now)`` for what to submit. Bounded: a full
scheduler refuses (``ScheduleFull``), so no peer can grow the listener without limit.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_LIMIT = 10_000


class ScheduleFull(Exception):
    pass


@dataclass(slots=True)
class ScheduledCue:
    """One command for one device, rendered when it arrived, submitted when due."""

    due: float
    device: str
    data: bytes
    terminate: bool
    sender: str
    received_at: float  # when the bundle arrived (for the activity log)


@dataclass(order=True, slots=True)
class _Entry:
    due: float
    order: int
    cue: ScheduledCue = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    def __init__(self, limit: int = DEFAULT_LIMIT):
        self.limit = limit
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._pending = 0  # entries in the heap not cancelled
        self._by_device: dict[str, int] = {}

    def __len__(self) -> int:
        return self._pending

    def pending_for(self, device: str) -> int:
        return self._by_device.get(device, 0)

    def room(self) -> int:
        return max(0, self.limit - self._pending)

    def add(self, cue: ScheduledCue) -> None:
        if self._pending >= self.limit:
            raise ScheduleFull(f"{self.limit} scheduled cues already pending")
        heapq.heappush(self._heap, _Entry(cue.due, next(self._order), cue))
        self._pending += 1
        self._by_device[cue.device] = self._by_device.get(cue.device, 0) + 1

    def next_due(self) -> float | None:
        self._drop_cancelled_head()
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> list[ScheduledCue]:
        """Every pending cue due at or before ``now``, earliest first, bundle order kept."""
        out: list[ScheduledCue] = []
        heap = self._heap
        while heap and heap[0].due <= now:
            entry = heapq.heappop(heap)
            if not entry.cancelled:
                self._forget(entry.cue.device)
                out.append(entry.cue)
        return out

    def cancel(self, keep: Callable[[str], bool]) -> list[ScheduledCue]:
        """Remove the cues whose device ``keep(name)`` rejects; returns them in due order."""
        doomed = [name for name in self._by_device if not keep(name)]
        if not doomed:
            return []
        gone = set(doomed)
        removed = [e for e in self._heap if not e.cancelled and e.cue.device in gone]
        removed.sort()
        for entry in removed:
            entry.cancelled = True
            self._forget(entry.cue.device)
        if len(self._heap) > 2 * self._pending + 64:  # compact once cancelled ones dominate
            self._heap = [e for e in self._heap if not e.cancelled]
            heapq.heapify(self._heap)
        return [e.cue for e in removed]

    def _forget(self, device: str) -> None:
        self._pending -= 1
        left = self._by_device[device] - 1
        if left:
            self._by_device[device] = left
        else:
            del self._by_device[device]

    def _drop_cancelled_head(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
