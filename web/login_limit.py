"""Failed-login rate limit per client address, so the admin password cannot be guessed at speed.

Only failures count, each for WINDOW seconds: after MAX_FAILURES within the window that client
is refused until its oldest failure ages out; other clients are unaffected (no global lockout
an attacker could trigger against the operator). The table is bounded: at MAX_CLIENTS the
client seen longest ago is forgotten, so a flood of addresses costs fixed memory (at worst
those forgotten clients get a fresh allowance, which still caps guessing at a crawl).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW = 60.0
MAX_CLIENTS = 4096


class LoginLimiter:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW,
                 max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # waitress serves requests from several threads

    def retry_after(self, client: str) -> int:
        """Whole seconds until this client may try again; 0 = it may try now."""
        with self._lock:
            times = self._recent(client)
            if times is None or len(times) < self.max_failures:
                return 0
            return max(1, math.ceil(times[0] + self.window - self.clock()))

    def failed(self, client: str) -> None:
        with self._lock:
            times = self._recent(client)
            if times is None:
                times = self._failures[client] = deque(maxlen=self.max_failures)
                while len(self._failures) > self.max_clients:
                    self._failures.popitem(last=False)
            self._failures.move_to_end(client)
            times.append(self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, client: str) -> deque[float] | None:
        """The client's failures still inside the window (older ones dropped)."""
        times = self._failures.get(client)
        if times is None:
            return None
        horizon = self.clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times
