"""The device form: what it shows (defaults, or a device's values) and what a submit sends.

Values go to the registry as typed; the registry validates (oscar.models.validate) and answers
with one message per field, which the form shows next to that field with the typed values kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from oscar.devices.profiles import PROFILES
from oscar.models import CONNECTIONS, DEFAULTS, ENCODINGS, FIELD_NAMES, TRANSPORTS

# Every field of the device record, so a field added to the record shows up here by itself.
FIELDS = FIELD_NAMES
CHECKBOXES = frozenset(f for f, default in DEFAULTS.items() if isinstance(default, bool))
# Fields shown as a select: field -> the allowed values, in the order offered.
CHOICES = {"encoding": ENCODINGS, "profile": tuple(PROFILES), "transport": TRANSPORTS,
           "connection": CONNECTIONS}
# The device's dialect (issue 8), shown in their own section so the simple case stays simple;
# every other field is in the first section. The profile select sits with the basics: picking
# one fills in the port and this section.
DIALECT = ("transport", "connection", "idle_close", "username", "password", "on_connect",
           "keepalive", "keepalive_interval", "reply_timeout", "min_gap", "wait_for_reply",
           "reply_terminator")
_FIRST = ("name", "profile", "host", "port")  # the profile comes before the port it fills in
SECTIONS = (("", _FIRST + tuple(f for f in FIELDS if f not in DIALECT and f not in _FIRST)),
            ("Dialect & connection", tuple(f for f in FIELDS if f in DIALECT)))
TEXTAREAS = frozenset({"on_connect"})
SECRET = "password"  # never rendered with its value; blank on submit keeps the stored one

LABELS = {
    "name": "Name",
    "host": "Host",
    "port": "Port",
    "enabled": "Enabled",
    "terminator": "Terminator",
    "encoding": "Encoding",
    "ttl": "Command TTL (s)",
    "backoff_min": "Reconnect backoff min (s)",
    "backoff_max": "Reconnect backoff max (s)",
    "tags": "Tags",
    "profile": "Profile",
    "transport": "Transport",
    "connection": "Connection",
    "idle_close": "Close when idle (s)",
    "username": "Username",
    "password": "Password",
    "on_connect": "On connect",
    "keepalive": "Keep-alive",
    "keepalive_interval": "Keep-alive after idle (s)",
    "reply_timeout": "Reply timeout (s)",
    "min_gap": "Minimum gap (s)",
    "wait_for_reply": "Wait for reply",
    "reply_terminator": "Reply terminator",
}

HELP = {
    "name": "Letters, digits, '_', '.' or '-' (up to 64). Used in the OSC address "
            "/device/NAME/message.",
    "host": "IP address or host name of the device.",
    "port": "TCP or UDP port, 1-65535. May stay blank when the profile sets one.",
    "enabled": "Disabled devices have no actor; cues to them are refused.",
    "terminator": "Bytes after each command. Escapes: \\r \\n \\t \\0 \\\\ \\xNN.",
    "encoding": "Text encoding of commands; the terminator must be writable in it too.",
    "ttl": "A command older than this (device down, actor restarting) is dropped, "
           "so a stale cue never fires late.",
    "backoff_min": "First reconnect delay; it doubles up to the max.",
    "backoff_max": "Longest reconnect delay.",
    "tags": "Groups, comma-separated (e.g. proj,stage-left), same characters as names. "
            "A cue to /group/TAG/message reaches every enabled device with TAG.",
    "profile": "The kind of gear. Picking one fills in its port and the Dialect & connection "
               "fields with its defaults; anything you change afterwards wins. generic = plain "
               "TCP text.",
    "transport": "tcp: a connection; udp: each command is one datagram (terminator included).",
    "connection": "persistent: one connection held open. per-command: a fresh connection (and "
                  "login) for every command. on-demand: connect when a command comes, close "
                  "after the idle time below.",
    "idle_close": "on-demand only: seconds without a command before the connection is closed.",
    "username": "Login name, for gear that asks for one (Panasonic NTCONTROL).",
    "password": "Login password, for gear that asks for one. Never shown; leave blank to keep "
                "the current one.",
    "on_connect": "Commands sent after every connect and login, before any queued cue; one per "
                  "line, escapes allowed (e.g. authenticate 1).",
    "keepalive": "Text sent (with the terminator) when the link has been idle; escapes "
                 "allowed. Blank = none.",
    "keepalive_interval": "Idle seconds before the keep-alive is sent; 0 = off.",
    "reply_timeout": "A keep-alive or command with no reply within this many seconds means the "
                     "link is dead: reconnect. 0 = off.",
    "min_gap": "Least time between two commands to this device (for gear that drops commands "
               "sent back to back); 0 = none.",
    "wait_for_reply": "Send the next command only after a reply line, or after the reply "
                      "timeout (2 s if that is 0).",
    "reply_terminator": "How replies end, with escapes (e.g. \\r\\n). Blank = at any CR, LF "
                        "or CRLF.",
}


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " ").capitalize())


def field_text(name: str, value: Any) -> str:
    """A field's value as the form shows it."""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ("\n" if name in TEXTAREAS else ",").join(str(item) for item in value)
    return "" if value is None else str(value)


_text = field_text


def profile_blob() -> dict[str, Any]:
    """What the page's script needs to fill a profile's defaults in, as the form shows them:
    {"generic_defaults": {field: text}, "profiles": {name: {title, notes, needs, defaults}}}.
    A field a profile does not set takes the generic default (port: kept as it is)."""
    generic = {f: field_text(f, DEFAULTS[f]) for f in FIELDS
               if f in DEFAULTS and f not in (SECRET, "enabled", "tags", "profile")}
    return {
        "generic_defaults": generic,
        "checkboxes": sorted(CHECKBOXES),
        "profiles": {name: {"title": p.title, "notes": p.notes, "needs": list(p.needs),
                            "defaults": {f: field_text(f, v) for f, v in p.defaults.items()}}
                     for name, p in PROFILES.items()},
    }


@dataclass
class DeviceForm:
    values: dict[str, str]
    errors: dict[str, str]
    password_set: bool = False  # what the page says about the stored password
    # Fields the submit carried (None: all). A field a script's POST leaves out is not sent to
    # the registry: on add the profile's default applies, on an edit the stored value stays.
    submitted: frozenset[str] | None = field(default=None)
    clear_password: bool = False

    @classmethod
    def blank(cls) -> DeviceForm:
        return cls({f: field_text(f, DEFAULTS.get(f, "")) for f in FIELDS}, {})

    @classmethod
    def for_device(cls, device: dict[str, Any]) -> DeviceForm:
        """From a public device dict (the registry never sends the password to pages)."""
        values = {f: field_text(f, device.get(f)) for f in FIELDS}
        values[SECRET] = ""
        return cls(values, {}, password_set=bool(device.get("password_set")))

    @classmethod
    def from_submit(cls, form: MultiDict) -> DeviceForm:
        values = {f: form.get(f, "") for f in FIELDS if f not in CHECKBOXES}
        for name in CHECKBOXES:  # an unchecked box sends nothing
            values[name] = "on" if form.get(name) else ""
        submitted = frozenset(f for f in FIELDS if f in form or f in CHECKBOXES)
        return cls(values, {}, submitted=submitted,
                   clear_password=bool(form.get("clear_password")))

    def record(self, include_name: bool = True) -> dict[str, Any]:
        """The submit as a device record for the registry (strings; it validates). A blank
        password is left out (an edit keeps the stored one); "clear password" sends ""."""
        record: dict[str, Any] = {f: self.values[f] for f in FIELDS if f not in CHECKBOXES}
        record.update({f: bool(self.values[f]) for f in CHECKBOXES})
        if self.submitted is not None:
            record = {f: v for f, v in record.items() if f in self.submitted or f == "name"}
        if not record.get(SECRET):
            record.pop(SECRET, None)
        if self.clear_password:
            record[SECRET] = ""
        if not include_name:
            record.pop("name")
        return record

    def forget_secret(self) -> None:
        """Before the form is shown again: the typed password never goes back into a page."""
        self.values[SECRET] = ""

    def choices(self, field: str) -> list[tuple[str, str]] | None:
        """(value, text) options of a select field, None for other fields. A stored value no
        longer offered (a device saved by an older Oscar) stays selected and marked, so saving
        shows the field's error instead of silently switching to another value."""
        if field not in CHOICES:
            return None
        options = [(value, f"{value} — {PROFILES[value].title}" if field == "profile" else value)
                   for value in CHOICES[field]]
        current = self.values.get(field, "")
        if current and current not in CHOICES[field]:
            options.insert(0, (current, f"{current} (not supported: choose another)"))
        return options

    def other_errors(self) -> dict[str, str]:
        """Errors about something that is not one of the form's fields."""
        return {k: v for k, v in self.errors.items() if k not in FIELDS}
