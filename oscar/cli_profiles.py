"""`oscar profiles [NAME] [--json]`: the device profiles and what each sets.

Pure data from oscar.devices.profiles: works without Oscar running.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from oscar.cli_format import table
from oscar.devices import profiles

# What a device gets when neither the profile nor the operator sets a field (contract A).
_TRANSPORT = "tcp"
_CONNECTION = "persistent"


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("profiles", help="list the device profiles (pjlink, videohub, ...) "
                                             "and what each sets; works without Oscar running")
    parser.add_argument("name", nargs="?", help="show one profile in full")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def profile_dict(profile: profiles.Profile) -> dict[str, Any]:
    defaults = dict(profile.defaults)
    if "on_connect" in defaults:
        defaults["on_connect"] = list(defaults["on_connect"])
    return {"name": profile.name, "title": profile.title, "defaults": defaults,
            "login": profile.login, "needs": list(profile.needs), "notes": profile.notes}


def _row(profile: profiles.Profile) -> list[str]:
    defaults = profile.defaults
    port = defaults.get("port")
    return [profile.name, profile.title, str(port) if port else "(you set)",
            defaults.get("transport", _TRANSPORT), defaults.get("connection", _CONNECTION),
            profile.login, ", ".join(profile.needs)]


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_value(item) for item in value) or "(none)"
    if isinstance(value, str):
        return f'"{value}"'  # the escapes exactly as the operator types them
    return str(value)


def detail_text(profile: profiles.Profile) -> str:
    lines = [f"{profile.name}: {profile.title}", f"  login recipe: {profile.login}",
             f"  you fill in:  {', '.join(profile.needs)}", "  sets:"]
    for field, value in profile.defaults.items():
        lines.append(f"    {field:<19} {_value(value)}")
    if profile.notes:
        lines += ["  notes:"] + textwrap.wrap(profile.notes, 96, initial_indent="    ",
                                              subsequent_indent="    ")
    return "\n".join(lines)


def list_text() -> str:
    headers = ["NAME", "TITLE", "PORT", "TRANSPORT", "CONNECTION", "LOGIN", "YOU FILL IN"]
    rows = [_row(profile) for profile in profiles.PROFILES.values()]
    return (table(headers, rows) + "\n\nA field you set on the device wins over the profile. "
            "Details: oscar profiles NAME; docs/devices.md.")


def run(args: argparse.Namespace) -> int:
    if args.name:
        try:
            profile = profiles.get(args.name)
        except ValueError as exc:
            print(f"oscar profiles: {exc}", file=sys.stderr)
            return 4  # EXIT_NOT_FOUND
        if args.json:
            print(json.dumps(profile_dict(profile), indent=2))
        else:
            print(detail_text(profile))
        return 0
    if args.json:
        print(json.dumps([profile_dict(p) for p in profiles.PROFILES.values()], indent=2))
    else:
        print(list_text())
    return 0
