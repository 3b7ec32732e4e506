"""`oscar activity`: the events history, filtered by device, kind and time, as text, JSON or
CSV. Times are read by oscar.timespec (20:30, 2026-11-26 20:30, ISO, 10m, 2h...)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from oscar import events_csv, timespec
from oscar.history import EVENT_KINDS, MAX_LIMIT

KINDS = ", ".join(EVENT_KINDS)


def add_parser(sub: Any) -> None:
    activity = sub.add_parser(
        "activity", help="events from the history (cues received, sent, replies, drops, "
                         "state changes, refusals), newest first")
    activity.add_argument("--device", default="", help="only this device's events")
    activity.add_argument("--kind", default="", help=f"only this kind of event ({KINDS})")
    activity.add_argument("--since", default="", metavar="TIME",
                          help="from this time on: 20:30 (today), '2026-11-26 20:30', an ISO "
                               "timestamp, or 10m / 2h / 1d ago")
    activity.add_argument("--until", default="", metavar="TIME",
                          help="up to this time (inclusive; same forms as --since)")
    activity.add_argument("--limit", type=int, default=30,
                          help=f"how many, newest first (default 30, at most {MAX_LIMIT})")
    out = activity.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of text")
    out.add_argument("--csv", action="store_true",
                     help="print CSV (header line, RFC 4180 quoting) instead of text")


def filters(args: argparse.Namespace, now: float | None = None) -> dict[str, Any]:
    """The registry's activity arguments; ValueError naming the option on a bad value."""
    now = time.time() if now is None else now
    found: dict[str, Any] = {"device": args.device, "kind": args.kind}
    for option in ("since", "until"):
        value = getattr(args, option)
        if value:
            try:
                found[option] = timespec.parse(value, now)
            except ValueError as exc:
                raise ValueError(f"--{option}: {exc}") from None
    if not 1 <= args.limit <= MAX_LIMIT:
        raise ValueError(f"--limit must be 1-{MAX_LIMIT}, got {args.limit}")
    if found.get("since") and found.get("until") and found["since"] > found["until"]:
        raise ValueError(f"--until ({timespec.describe(found['until'])}) is before --since "
                         f"({timespec.describe(found['since'])})")
    return found


def clock(timestamp: float, now: float) -> str:
    """'20:31:05.123' today, '2026-11-25 20:31:05.123' on another day."""
    text = events_csv.local_time(timestamp)
    return text[11:] if text[:10] == events_csv.local_time(now)[:10] else text


def run(client: Any, args: argparse.Namespace) -> int:
    try:
        wanted = filters(args)
    except ValueError as exc:
        print(f"oscar activity: {exc}", file=sys.stderr)
        return 2
    events = client.call("activity", limit=args.limit, **wanted)
    if args.json:
        print(json.dumps(events, indent=2))
    elif args.csv:
        sys.stdout.write(events_csv.text(events))
    elif not events:
        print("no events" + (" match" if any(wanted.values()) else ""))
    else:
        now = time.time()
        for event in events:
            who = event["device"] or event["source"]
            print(f"{clock(event['at'], now):>12}  {who:16} {event['event']:8} "
                  f"{event['detail']}")
    return 0
