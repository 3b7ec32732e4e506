"""The device record (desired state) and its validation.

Validation collects every problem, keyed by field, so a form or the CLI can show each one next
to the field that is wrong.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
from typing import Any

from oscar import escapes
from oscar.devices import profiles
from oscar.records import asdict, fields, record, replace
from oscar.records import field as _field

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


TRANSPORTS: tuple[str, ...] = ("tcp", "udp")
CONNECTIONS: tuple[str, ...] = ("persistent", "per-command", "on-demand")
MAX_ON_CONNECT = 32  # commands sent after every (re)connect
MAX_SENT_TEXT = 1024  # characters in one on_connect command or the keep-alive, as typed
MAX_CREDENTIAL = 256  # characters in username and password


class ValidationError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors.items()))


@record(frozen=True)
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
    # The device's dialect (issue 8). A profile (oscar.devices.profiles) only fills these in at
    # validation time; the stored record is concrete and the actor reads the fields directly.
    profile: str = "generic"
    transport: str = "tcp"  # "tcp" or "udp"
    connection: str = "persistent"  # "persistent", "per-command" or "on-demand"
    idle_close: float = 30.0  # on-demand: close after this many idle seconds
    username: str = ""
    password: str = _field(default="", repr=False)  # secret: see public_dict()
    on_connect: tuple[str, ...] = ()  # escaped texts sent after every (re)connect and login
    keepalive: str = ""  # escaped text sent when idle keepalive_interval seconds ("" = off)
    keepalive_interval: float = 0.0  # 0 = off
    reply_timeout: float = 0.0  # 0 = off; no reply byte within it = dead link
    min_gap: float = 0.0  # minimum seconds between two commands written to this device
    wait_for_reply: bool = False  # next command only after a reply line or reply_timeout
    reply_terminator: str = ""  # escaped; "" = a reply line ends at CR, LF or CRLF

    def to_dict(self) -> dict[str, Any]:
        """Every field, the password included: for the store and the private wire to actors."""
        return asdict(self)

    def public_dict(self) -> dict[str, Any]:
        """What operators and clients see (registry ops, status, pages, exports without
        secrets): every field but the password, which becomes ``password_set``."""
        data = asdict(self)
        data["password_set"] = bool(data.pop("password"))
        return data

    @property
    def terminator_bytes(self) -> bytes:
        return escapes.decode(self.terminator, self.encoding)

    def payload_bytes(self, text: str) -> bytes:
        """The bytes written to the device for one command: escapes decoded, terminator added."""
        return escapes.decode(text, self.encoding) + self.terminator_bytes


FIELD_NAMES = tuple(f.name for f in fields(Device))
DEFAULTS = {f.name: f.default for f in fields(Device) if f.name not in ("name", "host", "port")}
# Fields that are not part of the record itself but may come with one from outside: the public
# form's password flag (an export without secrets, a JSON client echoing what it read).
IGNORED_INPUT = frozenset({"password_set"})


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


def _seconds(low: float, high: float, off: bool = False):
    """Seconds between low and high; with ``off``, 0 is allowed too and means "off"."""
    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"must be a number of seconds, got {value!r}")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {value!r}") from None
        if off and number == 0:
            return 0.0
        if not low <= number <= high:  # also refuses nan
            zero = "0 (off) or " if off else ""
            raise ValueError(f"must be {zero}between {low:g} and {high:g} seconds, "
                             f"got {number:g}")
        return number
    return check


def _choice(options: tuple[str, ...]):
    def check(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}; got {str(value)[:40]!r}")
        return text
    return check


def _no_controls(text: str) -> None:
    for char in text:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            raise ValueError(f"must not contain control characters such as line breaks "
                             f"(found {char!r})")


def _text(value: Any) -> str:
    """Text from a form, the CLI or JSON (where a number may stand for its digits)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"must be text, got {type(value).__name__}")


def _check_username(value: Any) -> str:
    text = _text(value).strip()
    if len(text) > MAX_CREDENTIAL:
        raise ValueError(f"at most {MAX_CREDENTIAL} characters, got {len(text)}")
    _no_controls(text)
    return text


def _check_password(value: Any) -> str:
    # Never echo the value in a message: it is a secret.
    text = _text(value)
    if len(text) > MAX_CREDENTIAL:
        raise ValueError(f"at most {MAX_CREDENTIAL} characters, got {len(text)}")
    try:
        _no_controls(text)
    except ValueError:
        raise ValueError("must not contain control characters such as line breaks") from None
    return text


def _check_escaped(limit: int):
    """Escaped text sent to the device (keep-alive, reply terminator)."""
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be text, got {type(value).__name__}")
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters, got {len(value)}")
        try:
            escapes.decode(value)
        except escapes.EscapeError as exc:
            raise ValueError(str(exc)) from None
        return value
    return check


def _check_on_connect(value: Any) -> tuple[str, ...]:
    """A list of escaped texts, or text with one command per line (CLI, form). Blank lines are
    skipped; a line break inside one command is written as the escape \\n."""
    if isinstance(value, str):
        items = [line.rstrip("\r") for line in value.split("\n")]
        items = [item for item in items if item.strip()]
    elif isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"command {repr(item)[:40]} is not text")
            if "\n" in item or "\r" in item:
                raise ValueError(f"command {item[:40]!r} holds a line break: write it as the "
                                 "escape \\r or \\n")
            if item.strip():
                items.append(item)
    else:
        raise ValueError(f"must be a list of commands or text with one command per line, "
                         f"got {repr(value)[:40]}")
    if len(items) > MAX_ON_CONNECT:
        raise ValueError(f"at most {MAX_ON_CONNECT} commands, got {len(items)}")
    for number, item in enumerate(items, 1):
        if len(item) > MAX_SENT_TEXT:
            raise ValueError(f"command {number}: at most {MAX_SENT_TEXT} characters, "
                             f"got {len(item)}")
        try:
            escapes.decode(item)
        except escapes.EscapeError as exc:
            raise ValueError(f"command {number}: {exc}") from None
    return tuple(items)


def _check_profile(value: Any) -> str:
    text = str(value).strip().lower()
    names = profile_names()
    if text not in names:
        raise ValueError(f"unknown profile {str(value)[:40]!r}; use one of: {', '.join(names)}")
    return text


def profile_names() -> tuple[str, ...]:
    return tuple(profiles.PROFILES)


def profile_defaults(name: str) -> dict[str, Any]:
    """The Device field values a profile sets ({} for an unknown profile)."""
    profile = profiles.PROFILES.get(name)
    return dict(profile.defaults) if profile else {}


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
    "profile": _check_profile,
    "transport": _choice(TRANSPORTS),
    "connection": _choice(CONNECTIONS),
    "idle_close": _seconds(0.1, 86400.0),
    "username": _check_username,
    "password": _check_password,
    "on_connect": _check_on_connect,
    "keepalive": _check_escaped(MAX_SENT_TEXT),
    "keepalive_interval": _seconds(0.1, 86400.0, off=True),
    "reply_timeout": _seconds(0.05, 3600.0, off=True),
    "min_gap": _seconds(0.001, 60.0, off=True),
    "wait_for_reply": _check_bool,
    "reply_terminator": _check_escaped(64),
}

# Text fields sent to the device, which must encode in the device's encoding (checked together
# with it, so a bad pair is refused at the door instead of failing on every cue).
ENCODED_FIELDS = ("terminator", "on_connect", "keepalive", "reply_terminator")


def _unencodable(text: str | tuple[str, ...], encoding: str) -> str | None:
    texts = (text,) if isinstance(text, str) else text
    for item in texts:
        try:
            escapes.decode(item, encoding)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start:exc.end]
            return (f"{bad[:10]!r} cannot be written in {encoding} (use a \\xNN escape or "
                    "another encoding)")
    return None


def _given(data: dict[str, Any], field: str) -> bool:
    """Whether an input names a value for ``field``. A blank port counts as not given (forms
    post every field; a profile supplies the port)."""
    if field not in data or data[field] is None:
        return False
    return not (field == "port" and isinstance(data[field], str) and not data[field].strip())


def _profile_value(profile: str, field: str) -> tuple[bool, Any]:
    """(found, cleaned value) of what ``profile`` sets ``field`` to, else the generic default."""
    defaults = profile_defaults(profile)
    if field in defaults:
        try:
            return True, _CHECKS[field](defaults[field])
        except ValueError:
            return False, None  # a profile with a bad default must not block every edit
    if field in DEFAULTS:
        return True, DEFAULTS[field]
    return False, None


def _clean_or_none(field: str, value: Any) -> Any:
    try:
        return _CHECKS[field](value)
    except (ValueError, TypeError):
        return None


def _resolve_profile(data: dict[str, Any], base: Device | None) -> dict[str, Any]:
    """The merged input with the profile's defaults filled in (contract A):

    - add: every field not given takes the profile's default, then the generic default;
    - edit that changes the profile: every field not given in the edit and still equal to the
      old profile's default takes the new profile's default.
    An unknown profile fills nothing in (validation reports it on the profile field)."""
    if base is None:
        profile = str(data.get("profile") or DEFAULTS["profile"]).strip().lower()
        merged: dict[str, Any] = dict(DEFAULTS)
        for field, value in profile_defaults(profile).items():
            if field in FIELD_NAMES and field != "name":
                merged[field] = value
        merged.update({k: v for k, v in data.items() if k in FIELD_NAMES and _given(data, k)})
        return merged
    merged = base.to_dict()
    given = {k: v for k, v in data.items() if k in FIELD_NAMES and _given(data, k)}
    new_profile = str(given.get("profile", base.profile)).strip().lower()
    if new_profile != base.profile and new_profile in profile_names():
        for field in FIELD_NAMES:
            if field in given or field in ("name", "host", "profile"):
                continue
            found_old, old_value = _profile_value(base.profile, field)
            found_new, new_value = _profile_value(new_profile, field)
            if found_old and found_new and _clean_or_none(field, merged[field]) == old_value:
                merged[field] = new_value
    merged.update(given)
    return merged


def validate(data: dict[str, Any], base: Device | None = None) -> Device:
    """Build a Device from user input. ``base`` supplies values for fields not given (edits).

    The profile's defaults are filled in here (see _resolve_profile), so the stored record is
    concrete. An edit checks the whole merged record, so a device stored by an older Oscar with
    a value no longer allowed must be fixed in the same edit; only enabling or disabling it is
    exempt (disabling a device must always work, mid-show)."""
    data = {k: v for k, v in data.items() if k not in IGNORED_INPUT}
    if base is not None and data and set(data) <= {"enabled"}:
        try:
            return replace(base, enabled=_check_bool(data["enabled"]))
        except ValueError as exc:
            raise ValidationError({"enabled": str(exc)}) from None
    unknown = sorted(set(data) - set(FIELD_NAMES))
    errors: dict[str, str] = {key: "unknown field" for key in unknown}
    merged = _resolve_profile(data, base)
    clean: dict[str, Any] = {}
    for field in FIELD_NAMES:
        if field not in merged or merged[field] is None or (
                field == "port" and not _given(merged, "port")):
            errors[field] = "required"
            profile = str(merged.get("profile")).strip().lower()
            if field == "port" and profile != "generic" and profile in profiles.PROFILES:
                errors[field] = f"required (profile {profile} sets no port)"
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
    for key in ("tags", "on_connect"):
        if key in values:
            values[key] = tuple(values[key])  # msgpack and JSON give lists
    return Device(**values)
