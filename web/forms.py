"""The device form: what it shows (defaults, or a device's values) and what a submit sends.

Values go to the registry as typed; the registry validates (oscar.models.validate) and answers
with one message per field, which the form shows next to that field with the typed values kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from oscar.models import DEFAULTS, ENCODINGS, FIELD_NAMES

# Every field of the device record, so a field added to the record shows up here by itself.
FIELDS = FIELD_NAMES
CHECKBOXES = frozenset(f for f, default in DEFAULTS.items() if isinstance(default, bool))
# Fields shown as a select: field -> the allowed values, in the order offered.
CHOICES = {"encoding": ENCODINGS}

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
}

HELP = {
    "name": "Letters, digits, '_', '.' or '-' (up to 64). Used in the OSC address "
            "/device/NAME/message.",
    "host": "IP address or host name of the device.",
    "port": "TCP port, 1-65535.",
    "enabled": "Disabled devices have no actor; cues to them are refused.",
    "terminator": "Bytes after each command. Escapes: \\r \\n \\t \\0 \\\\ \\xNN.",
    "encoding": "Text encoding of commands; the terminator must be writable in it too.",
    "ttl": "A command older than this (device down, actor restarting) is dropped, "
           "so a stale cue never fires late.",
    "backoff_min": "First reconnect delay; it doubles up to the max.",
    "backoff_max": "Longest reconnect delay.",
    "tags": "Groups, comma-separated (e.g. proj,stage-left), same characters as names. "
            "A cue to /group/TAG/message reaches every enabled device with TAG.",
}


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " ").capitalize())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
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

    def choices(self, field: str) -> list[tuple[str, str]] | None:
        """(value, text) options of a select field, None for other fields. A stored value no
        longer offered (a device saved by an older Oscar) stays selected and marked, so saving
        shows the field's error instead of silently switching to another value."""
        if field not in CHOICES:
            return None
        options = [(value, value) for value in CHOICES[field]]
        current = self.values.get(field, "")
        if current and current not in CHOICES[field]:
            options.insert(0, (current, f"{current} (not supported: choose another)"))
        return options

    def other_errors(self) -> dict[str, str]:
        """Errors about something that is not one of the form's fields."""
        return {k: v for k, v in self.errors.items() if k not in FIELDS}
