"""The device form: what it shows (defaults, or a device's values) and what a submit sends.

Values go to the registry as typed; the registry validates (oscar.models.validate) and answers
with one message per field, which the form shows next to that field with the typed values kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from oscar.models import DEFAULTS, FIELD_NAMES

# Every field of the device record, so a field added to the record shows up here by itself.
FIELDS = FIELD_NAMES
CHECKBOXES = frozenset(f for f, default in DEFAULTS.items() if isinstance(default, bool))

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
}

HELP = {
    "name": "Letters, digits, '_', '.' or '-' (up to 64). Used in the OSC address "
            "/device/NAME/message.",
    "host": "IP address or host name of the device.",
    "port": "TCP port, 1-65535.",
    "enabled": "Disabled devices have no actor; cues to them are refused.",
    "terminator": "Bytes after each command. Escapes: \\r \\n \\t \\0 \\\\ \\xNN.",
    "encoding": "Text encoding of commands, e.g. utf-8, ascii, latin-1.",
    "ttl": "A command older than this (device down, actor restarting) is dropped, "
           "so a stale cue never fires late.",
    "backoff_min": "First reconnect delay; it doubles up to the max.",
    "backoff_max": "Longest reconnect delay.",
}


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " ").capitalize())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


@dataclass
class DeviceForm:
    values: dict[str, str]
    errors: dict[str, str]

    @classmethod
    def blank(cls) -> DeviceForm:
        return cls({f: _text(DEFAULTS.get(f, "")) for f in FIELDS}, {})

    @classmethod
    def for_device(cls, device: dict[str, Any]) -> DeviceForm:
        return cls({f: _text(device.get(f)) for f in FIELDS}, {})

    @classmethod
    def from_submit(cls, form: MultiDict) -> DeviceForm:
        values = {f: form.get(f, "") for f in FIELDS if f not in CHECKBOXES}
        for field in CHECKBOXES:  # an unchecked box sends nothing
            values[field] = "on" if form.get(field) else ""
        return cls(values, {})

    def record(self, include_name: bool = True) -> dict[str, Any]:
        """The submit as a device record for the registry (strings; it validates)."""
        record: dict[str, Any] = {f: self.values[f] for f in FIELDS if f not in CHECKBOXES}
        record.update({f: bool(self.values[f]) for f in CHECKBOXES})
        if not include_name:
            record.pop("name")
        return record

    def other_errors(self) -> dict[str, str]:
        """Errors about something that is not one of the form's fields."""
        return {k: v for k, v in self.errors.items() if k not in FIELDS}
