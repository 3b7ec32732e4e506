"""Log and report bad input without letting a flooding peer flood the logs too."""

from __future__ import annotations

import time


class RateLimiter:
    """Allows ``per_second`` events per key per second; counts what it suppressed. With
    ``max_keys`` the tables stay bounded however many keys a peer makes up (spoofed senders):
    at the bound they are cleared, so at worst a key gets a fresh window early."""

    def __init__(self, per_second: int = 10, clock=time.monotonic, max_keys: int | None = None):
        self.per_second = per_second
        self.clock = clock
        self.max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}
        self.suppressed: dict[str, int] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= 1.0:
            start, count = now, 0
        if (self.max_keys is not None and key not in self._windows
                and len(self._windows) >= self.max_keys):
            self._windows.clear()
            self.suppressed.clear()
        self._windows[key] = (start, count + 1)
        if count < self.per_second:
            return True
        self.suppressed[key] = self.suppressed.get(key, 0) + 1
        return False


class Window:
    """Counts events in one-second windows; says which to show and how many were hidden."""

    def __init__(self, limit: int):
        self.limit = limit
        self.start = 0.0
        self.count = 0
        self.hidden = 0

    def admit(self, now: float) -> tuple[bool, int]:
        """(show this one?, how many the window that just ended hid: report them first)."""
        ended = 0
        if now - self.start >= 1.0:
            ended, self.hidden = self.hidden, 0
            self.start, self.count = now, 0
        self.count += 1
        if self.count > self.limit:
            self.hidden += 1
            return False, ended
        return True, ended

    def take_hidden(self, now: float) -> int:
        """The hidden count of a window that has ended (0 if none, or still open)."""
        if not self.hidden or now - self.start < 1.0:
            return 0
        hidden, self.hidden = self.hidden, 0
        return hidden

    def due(self) -> float | None:
        return self.start + 1.0 if self.hidden else None
