"""The Activity filters (device, kind, since, until) as the page's GET form and /api/activity
read them, turned into the registry's ``activity`` arguments, and the CSV answer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Response

from oscar import events_csv, timespec
from oscar.history import EVENT_KINDS, MAX_LIMIT

PAGE_LIMIT = 200
__all__ = ["ActivityFilter", "read", "read_limit", "csv_response", "KINDS", "PAGE_LIMIT",
           "MAX_LIMIT"]
KINDS = EVENT_KINDS  # the select's choices; any other text still filters
FILTERS = ("device", "kind", "since", "until")
MAX_FILTER_TEXT = 256


@dataclass
class ActivityFilter:
    """What the operator typed (shown again in the form) and what the registry gets."""

    values: dict[str, str] = field(default_factory=dict)  # device, kind, since, until as typed
    args: dict[str, Any] = field(default_factory=dict)  # the registry's activity arguments
    errors: dict[str, str] = field(default_factory=dict)  # field -> what is wrong

    @property
    def active(self) -> bool:
        return any(self.values.values())

    def query(self, **extra: Any) -> str:
        """The filters (as typed) as a query string, for links: CSV export, live updates."""
        return urlencode({**{k: v for k, v in self.values.items() if v}, **extra})


def read(params: Any, now: float | None = None) -> ActivityFilter:
    """From request.args; relative times (10m) are read against ``now``."""
    now = time.time() if now is None else now
    found = ActivityFilter()
    for name in FILTERS:
        found.values[name] = params.get(name, "").strip()[:MAX_FILTER_TEXT]
    found.args = {"device": found.values["device"], "kind": found.values["kind"]}
    for name in ("since", "until"):
        text = found.values[name]
        if text:
            try:
                found.args[name] = timespec.parse(text, now)
            except ValueError as exc:
                found.errors[name] = str(exc)
    since, until = found.args.get("since"), found.args.get("until")
    if since and until and since > until:
        found.errors["until"] = (f"{timespec.describe(until)} is before since "
                                 f"({timespec.describe(since)})")
    return found


def read_limit(params: Any, default: int = PAGE_LIMIT) -> int:
    """``limit``: 1..MAX_LIMIT (clamped); ValueError when it is not a whole number."""
    text = params.get("limit", "")
    if not text:
        return default
    try:
        limit = int(text)
    except ValueError:
        raise ValueError("limit must be a whole number") from None
    return max(1, min(limit, MAX_LIMIT))


def csv_response(events: list[dict[str, Any]]) -> Response:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Response(events_csv.text(events), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="oscar-activity-{stamp}.csv"'})
