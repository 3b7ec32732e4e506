"""From an OSC packet to the commands it asks for, with no sockets in it.

``/device/NAME/message args...``: QLab sends unquoted words as separate string arguments and
unquoted numbers as int or float, so every argument is rendered as text and the pieces are
joined with single spaces. Escapes (see oscar.escapes) are decoded once, here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal

from pythonosc.osc_packet import OscPacket, ParseError

from oscar import escapes

ADDRESS_PREFIX = "/device/"
VERBS = ("message",)


class RouteError(ValueError):
    """A message we understood as OSC but cannot act on. ``counter`` names what to count."""

    def __init__(self, counter: str, message: str, device: str = ""):
        self.counter = counter
        self.device = device
        super().__init__(message)


@dataclass(frozen=True)
class Route:
    device: str
    verb: str
    text: str  # arguments rendered and joined, escapes still as typed


def parse_packet(packet: bytes) -> list[tuple[str, list[object]]]:
    """(address, arguments) for every message in a packet or bundle; raises ParseError."""
    try:
        parsed = OscPacket(packet)
    except ParseError:
        raise
    except Exception as exc:  # python-osc lets struct/index errors escape on truncated input
        raise ParseError(f"could not parse packet: {exc}") from None
    return [(timed.message.address, list(timed.message.params)) for timed in parsed.messages]


def render_argument(value: object) -> str:
    if isinstance(value, bool) or value is None:
        raise RouteError("wrong_type", f"argument {value!r} is not a string or number")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return render_float(value)
    if isinstance(value, str):
        return value
    raise RouteError("wrong_type", f"argument of type {type(value).__name__} is not supported")


def render_float(value: float) -> str:
    """Shortest text that round-trips: QLab's 0.1 arrives as float32 0.100000001..., not 0.1."""
    if value != value or value in (float("inf"), float("-inf")):
        raise RouteError("wrong_type", f"argument {value!r} is not a finite number")
    try:
        as_f32 = struct.unpack(">f", struct.pack(">f", value))[0]
    except OverflowError:
        as_f32 = None
    text = repr(value)
    if as_f32 == value:
        for digits in range(1, 10):
            candidate = f"{value:.{digits}g}"
            if struct.unpack(">f", struct.pack(">f", float(candidate)))[0] == value:
                text = candidate
                break
    if "e" in text and 1e-6 <= abs(value) < 1e16:
        text = format(Decimal(text), "f")
    if "e" not in text and "." not in text:
        text += ".0"
    return text


def route(address: str, args: list[object]) -> Route:
    if not address.startswith(ADDRESS_PREFIX):
        raise RouteError("unknown_address", f"unknown address {address!r}")
    rest = address[len(ADDRESS_PREFIX):]
    name, _, verb = rest.partition("/")
    if not name or not verb:
        raise RouteError("unknown_address", f"address {address!r} is not /device/NAME/VERB")
    if verb not in VERBS:
        raise RouteError("unknown_verb", f"unknown verb {verb!r} (known: {', '.join(VERBS)})",
                         name)
    if not args:
        raise RouteError("wrong_type", f"{address} needs at least one argument", name)
    try:
        text = " ".join(render_argument(arg) for arg in args)
    except RouteError as exc:
        raise RouteError(exc.counter, f"{address}: {exc}", name) from None
    return Route(device=name, verb=verb, text=text)


def command_bytes(route_: Route, encoding: str) -> bytes:
    """The bytes to send (terminator excluded); escape errors become RouteError."""
    try:
        return escapes.decode(route_.text, encoding)
    except escapes.EscapeError as exc:
        raise RouteError("bad_escape", str(exc), route_.device) from None
    except UnicodeEncodeError as exc:
        raise RouteError("bad_encoding", f"cannot encode as {encoding}: {exc}",
                         route_.device) from None
