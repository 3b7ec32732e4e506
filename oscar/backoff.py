"""Reconnect delays: exponential between min and max, with jitter so a rack of devices that
dropped together does not reconnect in lock-step."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None):
        self.minimum = minimum
        self.maximum = maximum
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        base = min(self.maximum, self.minimum * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        # +-25% jitter, kept inside [minimum, maximum]
        jittered = base * self._rng.uniform(0.75, 1.25)
        return max(self.minimum, min(self.maximum, jittered))

    def reset(self) -> None:
        self.attempts = 0
