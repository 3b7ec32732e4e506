"""From a decoded OSC message to the bytes a device should get, with no sockets in it.

Addresses: ``/device/NAME/VERB`` and ``/group/TAG/VERB``; NAME and TAG may be OSC patterns
(matched by the listener against its device list, see oscar.osc_pattern). Verbs:

- ``message``: every argument rendered (table below), pieces joined with single spaces, escapes
  decoded; the device's terminator is added (``terminate=True``).
- ``raw``: the same bytes, no terminator.
- ``hex``: exactly one string argument of hex digit pairs (oscar.hexbytes), no terminator.
- ``query``: sends nothing; the listener answers the sender with the device's state, counters
  and last reply (oscar.feedback). Arguments are ignored.

``/oscar/check`` (arguments ignored) asks whether every enabled device is ready: scope
``oscar``, verb ``check``.

Rendering (each argument becomes bytes): ``s S`` the text with escapes decoded (per argument),
encoded in the device's encoding; ``c`` the character; ``i h`` decimal; ``f`` the shortest text
that round-trips through float32, ``d`` through float64; ``T`` ``true``; ``F`` ``false``; ``b``
its bytes exactly. ``t r m [ ] N I`` are refused (``wrong_type``): they have no text.

Errors are ``RouteError`` with ``counter`` (a listener counter name) and never anything else.
docs/osc.md is the user-facing version of this page.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from decimal import Decimal

from oscar import escapes
from oscar.bounded import remember
from oscar.hexbytes import HexError, parse_hex
from oscar.osc_decode import OscMessage
from oscar.osc_pattern import PatternError, compile_pattern, is_pattern

VERBS = ("message", "raw", "hex", "query")
QUERY_VERBS = frozenset({"query", "check"})  # answered by the listener, nothing sent
CHECK_ADDRESS = "/oscar/check"
SCOPES = ("device", "group")
MAX_NAME = 64
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # the device-name rule (oscar.models.NAME_RE)
_TEXT_TAGS = frozenset("sScihfdTFb")
_NO_TEXT = {
    "t": "a timetag has no text",
    "r": "an RGBA colour has no text",
    "m": "a MIDI message has no text",
    "[": "arrays are not supported",
    "]": "arrays are not supported",
    "N": "nil (N) has no text; nothing was sent",
    "I": "infinitum (I) has no text; nothing was sent",
}
_F32 = struct.Struct(">f")


class RouteError(ValueError):
    """A message we decoded but cannot act on. ``counter`` names what to count."""

    def __init__(self, counter: str, message: str, device: str = ""):
        self.counter = counter
        self.device = device
        super().__init__(message)


# Not frozen: a frozen dataclass costs three times as much to build, once per cue.
@dataclass(slots=True)
class Route:
    scope: str    # "device" (/device/NAME/VERB), "group" (/group/TAG/VERB), "oscar" (check)
    target: str   # device name or tag, possibly an OSC pattern
    verb: str
    args: tuple[tuple[str, object], ...]


def _short(text: str, limit: int = 80) -> str:
    """Sender text quoted for an error message, cut so a huge address cannot amplify."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"


def route(message: OscMessage) -> Route:
    """Where a message goes and what it carries. RouteError counters: unknown_address (not
    /device/NAME/VERB, /group/TAG/VERB or /oscar/check), bad_pattern (NAME/TAG is a malformed
    pattern, see oscar.osc_pattern), unknown_device (NAME/TAG has characters no name can have,
    or is longer than 64), unknown_verb, wrong_type (no arguments, or a type with no text)."""
    address = message.address
    if address == CHECK_ADDRESS:
        return Route("oscar", "", "check", message.args)
    parts = address.split("/", 3)
    if len(parts) < 4 or parts[0] or parts[1] not in SCOPES or not parts[2] or not parts[3]:
        raise RouteError("unknown_address",
                         f"unknown address {_short(address)} (use /device/NAME/VERB or "
                         "/group/TAG/VERB)")
    scope, target, verb = parts[1], parts[2], parts[3]
    device = target if scope == "device" else ""
    if _NAME.fullmatch(target) is None:
        _check_target(scope, target)
    if verb not in VERBS:
        raise RouteError("unknown_verb",
                         f"unknown verb {_short(verb)} in {_short(address)} "
                         f"(known: {', '.join(VERBS)})", device)
    args = message.args
    if verb == "query":
        return Route(scope, target, verb, args)
    if not args:
        raise RouteError("wrong_type", f"{_short(address)} needs at least one argument", device)
    if verb == "hex":
        if len(args) != 1 or args[0][0] not in ("s", "S"):
            raise RouteError("wrong_type", f"{_short(address)} takes exactly one string of hex "
                             f"digits, got {_tags(args)}", device)
    else:
        for index, (tag, _value) in enumerate(args, start=1):
            if tag not in _TEXT_TAGS:
                reason = _NO_TEXT.get(tag, f"type {tag!r} is not supported")
                raise RouteError("wrong_type", f"{_short(address)} argument {index}: {reason}",
                                 device)
    return Route(scope, target, verb, args)


def _tags(args: tuple[tuple[str, object], ...]) -> str:
    text = "".join(tag for tag, _ in args[:20])
    return f"',{text}{'...' if len(args) > 20 else ''}'"


def _check_target(scope: str, target: str) -> None:
    """Not a valid name: a pattern that compiles, or RouteError (nothing could match)."""
    what = "device name" if scope == "device" else "group tag"
    if is_pattern(target):
        try:
            compile_pattern(target)
        except PatternError as exc:
            raise RouteError("bad_pattern", f"bad {what} pattern {_short(target)}: {exc}",
                             "") from None
    else:
        # No device or tag can have this name ([A-Za-z0-9_.-]{1,64}): nothing to look up.
        raise RouteError("unknown_device", f"{_short(target)} is not a valid {what} "
                         f"([A-Za-z0-9_.-], at most {MAX_NAME} characters)", "")


_DIGITS = tuple(f"%.{digits}g" for digits in range(1, 10))  # 9 significant digits always suffice
# Shows send the same few values again and again; formatting a float costs more than the rest
# of a cue, so the text of recent values is kept (bounded: cleared when full).
_FLOAT_CACHE = 1024
_FLOAT32_TEXT: dict[float, str] = {}
_FLOAT64_TEXT: dict[float, str] = {}


def render_float(value: float, single: bool = True) -> str:
    """Shortest text that round-trips: QLab's 0.1 arrives as float32 0.100000001..., not 0.1.

    single=True for float32 (tag f), False for float64 (tag d). Raises RouteError only.
    """
    cache = _FLOAT32_TEXT if single else _FLOAT64_TEXT
    text = cache.get(value)
    if text is not None and value != 0.0:  # 0.0 == -0.0 as keys: zeros are never cached
        return text
    if not math.isfinite(value):
        raise RouteError("wrong_type", f"argument {value!r} is not a finite number")
    text = _shortest(value, single)
    if value != 0.0:
        remember(cache, value, text, _FLOAT_CACHE)
    return text


def _shortest(value: float, single: bool) -> str:
    text = ""
    if single:
        pack, unpack = _F32.pack, _F32.unpack
        for form in _DIGITS:
            candidate = form % value
            try:
                if unpack(pack(float(candidate)))[0] == value:
                    text = candidate
                    break
            except OverflowError:  # rounding float32 max up leaves the float32 range
                continue
    if not text:
        text = repr(value)  # float64: Python's repr is already the shortest round trip
    if "e" in text and 1e-6 <= abs(value) < 1e16:
        text = format(Decimal(text), "f")
    if "e" not in text and "." not in text:
        text += ".0"
    return text


def _render(tag: str, value: object, encoding: str) -> bytes:
    if tag == "s" or tag == "S":
        return escapes.decode(value, encoding)  # type: ignore[arg-type]
    if tag == "i" or tag == "h":
        if type(value) is not int:
            raise TypeError(tag)
        return str(value).encode(encoding)
    if tag == "f" or tag == "d":
        return render_float(value, tag == "f").encode(encoding)  # type: ignore[arg-type]
    if tag == "b":
        if type(value) is not bytes:
            raise TypeError(tag)
        return value
    if tag == "c":
        if type(value) is not str:
            raise TypeError(tag)
        return value.encode(encoding)
    if tag == "T":
        return "true".encode(encoding)
    if tag == "F":
        return "false".encode(encoding)
    raise RouteError("wrong_type", _NO_TEXT.get(tag, f"type {tag!r} is not supported"))


def _encoding_reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return f"{_short(exc.object[exc.start:exc.end], 10)} ({exc.reason})"
    if isinstance(exc, LookupError):
        return "not a text encoding Python knows"
    return str(exc)[:100]


def command_bytes(route_: Route, encoding: str) -> tuple[bytes, bool]:
    """(bytes to send, add the device's terminator?) — the whole cue or RouteError.

    RouteError counters: bad_escape, bad_encoding, bad_hex, wrong_type.
    """
    device = route_.target if route_.scope == "device" else ""
    if route_.verb == "hex":
        try:
            return parse_hex(route_.args[0][1]), False  # type: ignore[arg-type]
        except HexError as exc:
            raise RouteError("bad_hex", f"bad hex payload: {exc}", device) from None
        except (IndexError, TypeError):
            raise RouteError("wrong_type", "hex takes exactly one string", device) from None
    if not route_.args:
        raise RouteError("wrong_type", "no arguments", device)
    try:
        if len(route_.args) == 1:  # the usual cue: one quoted string
            tag, value = route_.args[0]
            data = _render(tag, value, encoding)
        else:
            data = " ".encode(encoding).join(
                [_render(tag, value, encoding) for tag, value in route_.args])
    except RouteError as exc:
        raise RouteError(exc.counter, str(exc), device) from None
    except escapes.EscapeError as exc:
        raise RouteError("bad_escape", str(exc), device) from None
    except (UnicodeError, LookupError) as exc:
        raise RouteError("bad_encoding", f"cannot encode as {_short(encoding, 40)}: "
                         f"{_encoding_reason(exc)}", device) from None
    except ValueError as exc:  # an encoding name Python refuses outright (embedded NUL)
        raise RouteError("bad_encoding", f"cannot encode as {_short(encoding, 40)}: "
                         f"{type(exc).__name__}", device) from None
    except TypeError:  # a Route built by hand with a value that does not fit its tag
        raise RouteError("wrong_type", "an argument does not match its type tag",
                         device) from None
    return data, route_.verb == "message"
