"""The device record (desired state) and its validation.

Validation collects every problem, keyed by field, so a form or the CLI can show each one next
to the field that is wrong.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from oscar import escapes

NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_TAGS = 32

# The text encodings a device may use, by Python's canonical codec name (what validation stores).
# Only stateless codecs that put nothing before the text: each command is encoded on its own, so
# a codec that adds a byte-order mark (utf-16, utf-8-sig) or carries shift state between calls
# (iso2022_jp, utf-7) would put bytes on the wire the operator never typed; codecs that are not
# for text at all (idna, punycode, hex, rot13, base64) are refused too.
ENCODINGS: tuple[str, ...] = (
    "utf-8", "ascii", "iso8859-1", "iso8859-15", "cp1252", "cp1250", "cp1251", "cp437",
    "cp850", "mac-roman", "koi8-r", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be",
    "shift_jis", "cp932", "euc_jp", "gbk", "gb18030", "big5", "euc_kr", "cp949",
)


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
    tags: tuple[str, ...] = ()  # sorted, unique; /group/TAG/... reaches every device with TAG

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


def _check_tags(value: Any) -> tuple[str, ...]:
    """A list of names, or one comma-separated string (CLI, form)."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(f"must be a list of tags or comma-separated text, got {value!r}")
    tags = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"tag {item!r} is not text")
        tag = item.strip()
        if not tag:
            continue  # "proj, ,stage" and a trailing comma are harmless
        try:
            tags.add(_check_name(tag))
        except ValueError as exc:
            raise ValueError(f"tag {tag[:70]!r}: {exc}") from None
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags, got {len(tags)}")
    return tuple(sorted(tags))


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
    except LookupError:
        raise ValueError(f"unknown text encoding {text[:40]!r} (use one of: "
                         f"{', '.join(ENCODINGS)})") from None
    if name in ENCODINGS:
        return name
    if name in ("utf-16", "utf-32", "utf-8-sig"):
        raise ValueError(f"{name} puts a byte-order mark before every piece of text "
                         "(use a form without one, such as utf-16-le)")
    raise ValueError(f"{name!r} is not one of the text encodings Oscar supports: "
                     f"{', '.join(ENCODINGS)}")


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
    "tags": _check_tags,
}

# Text fields sent to the device, which must encode in the device's encoding (checked together
# with it, so a bad pair is refused at the door instead of failing on every cue). Future
# on-connect or keep-alive texts belong here too.
ENCODED_FIELDS = ("terminator",)


def _unencodable(text: str, encoding: str) -> str | None:
    try:
        escapes.decode(text, encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        return (f"{bad[:10]!r} cannot be written in {encoding} (use a \\xNN escape or "
                "another encoding)")
    return None


def validate(data: dict[str, Any], base: Device | None = None) -> Device:
    """Build a Device from user input. ``base`` supplies values for fields not given (edits).

    An edit checks the whole merged record, so a device stored by an older Oscar with a value
    no longer allowed must be fixed in the same edit; only enabling or disabling it is exempt
    (disabling a device must always work, mid-show)."""
    if base is not None and data and set(data) <= {"enabled"}:
        try:
            return replace(base, enabled=_check_bool(data["enabled"]))
        except ValueError as exc:
            raise ValidationError({"enabled": str(exc)}) from None
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
    if "encoding" in clean:
        for field in ENCODED_FIELDS:
            if field in clean:
                problem = _unencodable(clean[field], clean["encoding"])
                if problem:
                    errors[field] = problem
    if errors:
        raise ValidationError(errors)
    return Device(**clean)


def from_dict(data: dict[str, Any]) -> Device:
    """Rebuild a Device that was validated before (store rows, wire messages).

    No validation here on purpose: a device stored by an older Oscar (say with an encoding no
    longer in ENCODINGS) still loads and runs as before; the next edit must fix it.
    """
    values = {k: data[k] for k in FIELD_NAMES if k in data}
    if "tags" in values:
        values["tags"] = tuple(values["tags"])  # msgpack and JSON give lists
    return Device(**values)
