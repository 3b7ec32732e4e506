"""The device record (desired state) and its validation.

Validation collects every problem, keyed by field, so a form or the CLI can show each one next
to the field that is wrong.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
from dataclasses import asdict, dataclass, fields
from typing import Any

from oscar import escapes

NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class ValidationError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors.items()))


@dataclass(frozen=True)
class Device:
    name: str
    host: str
    port: int
    enabled: bool = True
    terminator: str = "\\r"  # escaped text, as the operator typed it
    encoding: str = "utf-8"
    ttl: float = 10.0  # seconds a queued command stays worth sending
    backoff_min: float = 0.5
    backoff_max: float = 10.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def terminator_bytes(self) -> bytes:
        return escapes.decode(self.terminator, self.encoding)

    def payload_bytes(self, text: str) -> bytes:
        """The bytes written to the device for one command: escapes decoded, terminator added."""
        return escapes.decode(text, self.encoding) + self.terminator_bytes


FIELD_NAMES = tuple(f.name for f in fields(Device))
DEFAULTS = {f.name: f.default for f in fields(Device) if f.name not in ("name", "host", "port")}


def _check_name(value: Any) -> str:
    text = str(value).strip()
    if not NAME_RE.fullmatch(text):
        raise ValueError("1-64 characters: letters, digits, '_', '.' or '-'")
    if set(text) == {"."}:
        raise ValueError("'.' and '..' are path names, not device names")
    return text


def _check_host(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("required: an IP address or host name")
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    try:
        socket.getaddrinfo(text, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValueError(f"{text!r} is not an IP address and does not resolve") from None
    return text


def _check_port(value: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a whole number 1-65535, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"must be 1-65535, got {port}")
    return port


def _check_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"must be true or false, got {value!r}")


def _check_terminator(value: Any) -> str:
    text = str(value)
    try:
        escapes.decode(text)
    except escapes.EscapeError as exc:
        raise ValueError(str(exc)) from None
    return text


def _check_encoding(value: Any) -> str:
    text = str(value).strip()
    try:
        name = codecs.lookup(text).name
        # lookup() also knows bytes-to-bytes codecs (hex, base64, rot13) that str.encode refuses.
        mark = "".encode(name)
    except LookupError:
        raise ValueError(f"unknown text encoding {text!r} (try utf-8, ascii or latin-1)") from None
    if mark:
        raise ValueError(f"{name} puts a byte-order mark before every piece of text "
                         "(use a form without one, such as utf-16-le)")
    return name


def _seconds(low: float, high: float):
    def check(value: Any) -> float:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g} seconds, got {number:g}")
        return number
    return check


_CHECKS = {
    "name": _check_name,
    "host": _check_host,
    "port": _check_port,
    "enabled": _check_bool,
    "terminator": _check_terminator,
    "encoding": _check_encoding,
    "ttl": _seconds(0.1, 3600.0),
    "backoff_min": _seconds(0.05, 600.0),
    "backoff_max": _seconds(0.05, 3600.0),
}


def validate(data: dict[str, Any], base: Device | None = None) -> Device:
    """Build a Device from user input. ``base`` supplies values for fields not given (edits)."""
    unknown = sorted(set(data) - set(FIELD_NAMES))
    errors: dict[str, str] = {key: "unknown field" for key in unknown}
    merged: dict[str, Any] = dict(DEFAULTS) if base is None else base.to_dict()
    merged.update({k: v for k, v in data.items() if k in FIELD_NAMES})
    clean: dict[str, Any] = {}
    for field in FIELD_NAMES:
        if field not in merged or merged[field] is None:
            errors[field] = "required"
            continue
        try:
            clean[field] = _CHECKS[field](merged[field])
        except ValueError as exc:
            errors[field] = str(exc)
    if "backoff_min" in clean and "backoff_max" in clean and clean["backoff_min"] > clean[
        "backoff_max"
    ]:
        errors["backoff_max"] = "must be at least backoff_min"
    if errors:
        raise ValidationError(errors)
    return Device(**clean)


def from_dict(data: dict[str, Any]) -> Device:
    """Rebuild a Device that was validated before (store rows, wire messages)."""
    return Device(**{k: data[k] for k in FIELD_NAMES if k in data})
