"""The one rule for the small lookup caches a network peer can reach (routes, sender texts,
allow-list verdicts, rendered floats): bounded, and emptied whole when full. A show uses a few
entries again and again; a flood of distinct ones (spoofed sources, random addresses) only
costs refilling, never memory."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """Put ``value`` in ``cache`` under ``key``, first emptying the cache when it holds
    ``limit`` entries; returns ``value``."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value
