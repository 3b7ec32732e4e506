"""`oscar feedback`: the feedback targets the registry keeps (list, set, add, remove).

Device replies, states and errors go to these as OSC (docs/osc.md); the list starts as the
``feedback`` setting (OSCAR_FEEDBACK) and, once set here, the web UI or the API, is kept by the
registry (oscar/feedback_config.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from oscar import feedback_targets


def add_parser(sub: Any) -> None:
    feedback = sub.add_parser("feedback", help="where device replies, states and errors go as "
                                               "OSC: list, set, add, remove targets")
    fsub = feedback.add_subparsers(dest="action", metavar="ACTION")
    listing = fsub.add_parser("list", help="show the targets (the default)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    put = fsub.add_parser("set", help="replace the list (no TARGET: no feedback)")
    put.add_argument("targets", nargs="*", metavar="TARGET",
                     help="udp://HOST:PORT or tcp://HOST:PORT (TCP with SLIP framing)")
    add = fsub.add_parser("add", help="add a target")
    add.add_argument("target", help="udp://HOST:PORT or tcp://HOST:PORT")
    remove = fsub.add_parser("remove", help="remove a target")
    remove.add_argument("target", help="a target as listed")


def _show(current: dict[str, Any]) -> None:
    origin = ("from the feedback setting (OSCAR_FEEDBACK)"
              if current["source"] == "setting" else "set by an operator")
    if not current["targets"]:
        print(f"no feedback targets ({origin})")
        return
    print(f"feedback targets ({origin}):")
    for target in current["targets"]:
        print(f"  {target}")


def run(client: Any, args: argparse.Namespace) -> int:
    """Registry errors propagate to the caller (oscar.cli turns them into exit codes)."""
    action = args.action or "list"
    if action == "list":
        current = client.call("feedback_get")
        if getattr(args, "json", False):
            print(json.dumps(current, indent=2))
        else:
            _show(current)
        return 0
    if action == "set":
        targets = list(args.targets)
    else:
        targets = client.call("feedback_get")["targets"]
        try:
            wanted = str(feedback_targets.parse_target(args.target))
        except ValueError as exc:
            print(f"oscar feedback: {exc}", file=sys.stderr)
            return 2
        if action == "add":
            if wanted in targets:
                print(f"{wanted} is already a feedback target")
                return 0
            targets.append(wanted)
        else:
            if wanted not in targets:
                print(f"oscar feedback: {wanted} is not a feedback target "
                      f"(oscar feedback list)", file=sys.stderr)
                return 4
            targets.remove(wanted)
    _show(client.call("feedback_set", targets=targets))
    return 0
