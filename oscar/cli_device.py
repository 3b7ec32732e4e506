"""The device record's dialect options for ``oscar device add`` / ``edit`` (issue 8) and how a
device is shown: one ``--name-with-dashes`` option per field, the password never printed."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from oscar.devices.profiles import PROFILES

# option -> (record field, metavar, help); plain text options, validated by the registry.
DIALECT_OPTIONS: dict[str, tuple[str, str, str]] = {
    "--profile": ("profile", "NAME", "kind of gear: fills in the defaults of the fields below "
                                     "(port too) that you do not give; oscar profiles lists "
                                     f"them ({', '.join(PROFILES)}; default generic)"),
    "--transport": ("transport", "tcp|udp", "tcp (default) or udp: each command one datagram"),
    "--connection": ("connection", "MODE", "persistent (default: one connection held open), "
                                           "per-command (a fresh connection for each command) "
                                           "or on-demand (connect when a command comes, close "
                                           "after --idle-close seconds idle)"),
    "--idle-close": ("idle_close", "SECONDS", "on-demand: close after this many idle seconds "
                                              "(default 30)"),
    "--username": ("username", "TEXT", "login name, for profiles that log in (ntcontrol)"),
    "--keepalive": ("keepalive", "TEXT", "text sent (with the terminator) when the link has "
                                         "been idle --keepalive-interval seconds; escapes "
                                         "allowed; '' for none"),
    "--keepalive-interval": ("keepalive_interval", "SECONDS", "idle seconds before the "
                                                              "keep-alive is sent (0 = off)"),
    "--reply-timeout": ("reply_timeout", "SECONDS", "a keep-alive or command without any reply "
                                                    "within this many seconds means the link "
                                                    "is dead: reconnect (0 = off)"),
    "--min-gap": ("min_gap", "SECONDS", "least time between two commands to this device "
                                        "(0 = none)"),
    "--reply-terminator": ("reply_terminator", "TEXT", "how replies end, with escapes (e.g. "
                                                       "\\r\\n); '' (default): at any CR, LF "
                                                       "or CRLF"),
}
FIELDS = [field for field, _, _ in DIALECT_OPTIONS.values()] + [
    "on_connect", "wait_for_reply", "password"]


def add_options(parser: argparse.ArgumentParser, edit: bool) -> None:
    for option, (field, metavar, help_text) in DIALECT_OPTIONS.items():
        parser.add_argument(option, dest=field, metavar=metavar, help=help_text)
    on_connect = parser.add_mutually_exclusive_group()
    on_connect.add_argument("--on-connect", dest="on_connect", action="append", metavar="TEXT",
                            help="a command sent after every (re)connect and login, before "
                                 "queued cues; repeat for several, in order; escapes allowed"
                                 + ("; replaces the current list ('' clears it)" if edit else ""))
    if edit:
        on_connect.add_argument("--no-on-connect", dest="on_connect", action="store_const",
                                const=[], help="send nothing on connect")
    parser.add_argument("--wait-for-reply", dest="wait_for_reply",
                        action=argparse.BooleanOptionalAction, default=None,
                        help="send the next command only after a reply line (or "
                             "--reply-timeout; 2 s if that is 0)")
    password = parser.add_mutually_exclusive_group()
    password.add_argument("--password", dest="password", metavar="TEXT",
                          help="the device's password (visible in the process list and shell "
                               "history: prefer --ask-password)")
    password.add_argument("--ask-password", dest="ask_password", action="store_true",
                          help="ask for the password without echoing it")
    if edit:
        password.add_argument("--clear-password", dest="clear_password", action="store_true",
                              help="remove the stored password")


def fields_from(args: argparse.Namespace) -> dict[str, Any]:
    """The dialect fields the command line gives (absent options are left out)."""
    out = {field: getattr(args, field) for field in FIELDS
           if getattr(args, field, None) is not None}
    if getattr(args, "ask_password", False):
        out["password"] = ask_password()
    if getattr(args, "clear_password", False):
        out["password"] = ""
    return out


def ask_password() -> str:
    if not sys.stdin.isatty():  # a script pipes it in: one line, without its newline
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _refuse("--ask-password: no password on standard input (to remove the password "
                    "use --clear-password)")
        return password
    first = getpass.getpass("device password: ")
    if getpass.getpass("again: ") != first:
        _refuse("the two passwords differ; nothing changed")
    return first


def _refuse(text: str) -> None:
    print(f"oscar: {text}", file=sys.stderr)
    raise SystemExit(2)  # EXIT_USAGE


def show(device: dict[str, Any]) -> None:
    """One line per field of a public device dict; lists one item per line."""
    items = dict(device)
    password_set = items.pop("password_set", None)
    width = max(len(key) for key in [*items, "password"])
    for key, value in items.items():
        if key == "on_connect":
            values = list(value) or ["-"]
            for index, item in enumerate(values):
                print(f"{key if index == 0 else '':{width}} {item}")
            continue
        if isinstance(value, list):
            value = ",".join(value)
        print(f"{key:{width}} {value}")
    if password_set is not None:
        print(f"{'password':{width}} {'set' if password_set else 'not set'}")


def link_text(device: dict[str, Any]) -> str:
    """transport and connection in a few characters, for the device list."""
    if device.get("transport") == "udp":
        return "udp"
    connection = device.get("connection", "persistent")
    if connection == "on-demand":
        return f"tcp on-demand {device.get('idle_close', 30.0):g}s"
    return f"tcp {connection}"


def write_export(path: str, text: str, private: bool) -> None:
    """Write an export; one with passwords is made mode 0600 before anything is in it."""
    if not private:
        with open(path, "w") as handle:
            handle.write(text)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with open(fd, "w") as handle:
        handle.write(text)


def missing_passwords(data: Any) -> list[str]:
    """Devices of an export that had a password which the file does not hold."""
    entries = data.get("devices") if isinstance(data, dict) else None
    return [str(entry.get("name")) for entry in entries or ()
            if isinstance(entry, dict) and entry.get("password_set") is True
            and not entry.get("password")]
