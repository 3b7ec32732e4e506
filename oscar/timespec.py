"""Times an operator types for `oscar activity --since/--until` and the Activity page's filter.

Accepted (local time unless the text names an offset):

- ``20:30`` or ``20:30:15`` — that time today;
- ``2026-11-26 20:30`` (seconds optional), or ``2026-11-26`` (midnight);
- ISO 8601 timestamps: ``2026-11-26T20:30:00``, ``2026-11-26T19:30:00Z``,
  ``2026-11-26T20:30:00.250+01:00``;
- relative, before now: ``90s``, ``10m``, ``2h``, ``1d`` (``min`` for minutes works too);
- a Unix timestamp in seconds: ``1795000000`` or ``1795000000.5``.

``parse`` raises only ValueError, with a message saying what is accepted.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
HELP = ("use 20:30, 2026-11-26 20:30, an ISO timestamp, 10m / 2h / 1d (ago), "
        "or Unix seconds")
MAX_TEXT = 64
_RELATIVE = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)\s*(s|sec|min|m|h|d)", re.IGNORECASE)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?")
_NUMBER = re.compile(r"\d{1,12}(?:\.\d{1,6})?")
# Unix seconds must be at least this, so "2026" or "30" is never read as 1970.
MIN_UNIX = 100_000_000


def parse(text: str, now: float | None = None) -> float:
    """The Unix time ``text`` names (see the module docstring). ``now`` is for relative and
    clock-only forms (default: the current time)."""
    if not isinstance(text, str):
        raise ValueError(f"a time must be text; {HELP}")
    value = text.strip()
    if not value:
        raise ValueError(f"empty time; {HELP}")
    shown = value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if len(value) > MAX_TEXT:
        raise ValueError(f"{shown!r} is not a time; {HELP}")
    now = time.time() if now is None else now
    try:
        result = _parse(value, now)
    except (ValueError, OverflowError, OSError):
        result = None
    if result is None or not math.isfinite(result):
        raise ValueError(f"{shown!r} is not a time; {HELP}")
    return result


def _parse(value: str, now: float) -> float | None:
    if not value.isascii():  # "\d" and int() would take other scripts' digits
        return None
    match = _RELATIVE.fullmatch(value)
    if match:
        return now - float(match.group(1)) * UNITS[match.group(2).lower()]
    match = _CLOCK.fullmatch(value)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        second = int(match.group(3) or 0)
        micro = int((match.group(4) or "0").ljust(6, "0"))
        today = datetime.fromtimestamp(now).date()
        return datetime(today.year, today.month, today.day, hour, minute, second,
                        micro).timestamp()
    if _NUMBER.fullmatch(value):
        number = float(value)
        return number if number >= MIN_UNIX else None
    if not value[:4].isdigit():
        return None
    # "2026-11-26 20:30", "2026-11-26T20:30:00Z", "2026-11-26": Python's ISO reader (3.11
    # reads "Z", offsets, fractions and a space separator).
    # A naive result is local time, which is what timestamp() assumes.
    return datetime.fromisoformat(value).timestamp()


def describe(timestamp: float) -> str:
    """'2026-11-26 20:30:00' in local time, for messages and CSV."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
