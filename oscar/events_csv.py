"""Events as CSV (RFC 4180: a header line, CRLF line ends, fields quoted when they hold a comma,
a quote or a line break), for `oscar activity --csv` and the web's CSV export.

Texts that a spreadsheet would run as a formula (starting with = + - @ or a tab / CR) get a
leading apostrophe: event details carry what network peers sent, and a cue text must not become
a live formula on the operator's laptop.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

HEADER = ("time", "unix_time", "device", "source", "event", "detail", "sender")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def local_time(timestamp: float) -> str:
    """'2026-11-26 20:31:05.123' (local time, milliseconds)."""
    return datetime.fromtimestamp(timestamp).isoformat(" ", "milliseconds")


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def rows(events: Iterable[dict[str, Any]]) -> Iterable[list[str]]:
    yield list(HEADER)
    for event in events:
        at = float(event.get("at", 0.0))
        yield [local_time(at), f"{at:.3f}", _safe(event.get("device", "")),
               _safe(event.get("source", "")), _safe(event.get("event", "")),
               _safe(event.get("detail", "")), _safe(event.get("sender", ""))]


def text(newest_first: list[dict[str, Any]]) -> str:
    """The registry's answer (newest first) as CSV in time order: oldest first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # QUOTE_MINIMAL, "" inside quotes
    writer.writerows(rows(reversed(newest_first)))
    return out.getvalue()
