"""Strict OSC 1.0/1.1 packet decoder (and the encoder tests and ``oscar send`` use).

Hostile input is normal input here: a packet is decoded entirely or refused whole with
``OscError``. Every type tag is read with its exact data size, so an argument can never be
mistaken for the next one (python-osc skips tags it does not know without reading their data,
which turned ``,Si "sym" 5`` into the number 1937337600). Every loop consumes bytes, bundles
recurse at most ``MAX_DEPTH`` deep, and no exception other than ``OscError`` leaves
``decode_packet``.

Type tags and the Python values they decode to:

=====  ==========================  =====================================
tag    data                        value
=====  ==========================  =====================================
i      int32                       int
h      int64                       int
f      float32                     float
d      float64                     float
s S    UTF-8 string, NUL, padding  str (strict UTF-8)
c      32-bit code point           str of one character
b      int32 size, bytes, padding  bytes
t      64-bit NTP timetag          int (raw)
r      32-bit RGBA colour          int
m      4 bytes of MIDI             bytes (4)
T F    none                        True / False
N      none                        None
I      none                        INFINITUM
[ ]    none                        None (array begin / end, must balance)
=====  ==========================  =====================================
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable
from typing import NamedTuple

MAX_DEPTH = 8  # nested bundles; real senders use one level
BUNDLE_TAG = b"#bundle\x00"
IMMEDIATELY = 1  # the NTP timetag that means "now"
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01

_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
_U64 = struct.Struct(">Q")
_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")
_PADDING = (b"", b"\x00", b"\x00\x00", b"\x00\x00\x00", b"\x00\x00\x00\x00")
_NO_DATA = frozenset("TFNI[]")
# The shape of almost every QLab cue: an address and one string argument. A constant regex
# (never built from input) checks it in one C-level pass; decode_packet then checks that both
# paddings have exactly the right length, else the general decoder decides. A differential fuzz
# test (tests/unit/test_osc_decode.py) holds the two paths to the same answers.
_ONE_STRING = re.compile(rb"(/[^\x00]*)(\x00{1,4}),s\x00\x00([^\x00]*)\x00{1,4}")


class OscError(ValueError):
    """The packet is refused whole. str(exc) says why (short, no payload dumps)."""


class _Infinitum:
    """The value of the ``I`` tag: a singleton, so ``value is INFINITUM`` works."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INFINITUM"

    def __reduce__(self) -> str:
        return "INFINITUM"


INFINITUM = _Infinitum()


# A NamedTuple: immutable like a frozen dataclass, at half the cost to build (once per cue).
class OscMessage(NamedTuple):
    address: str                          # starts with "/"
    args: tuple[tuple[str, object], ...]  # (type tag, value) in order, see the module table
    due: float | None = None              # unix time from enclosing bundle timetags; None = now


# ---- time tags ---------------------------------------------------------------------------------

def ntp_to_unix(timetag: int) -> float | None:
    """Unix time of a 64-bit NTP timetag; ``IMMEDIATELY`` (1) gives None.

    NTP era 0 only (until 2036-02-07); 0 and other past times are simply past: sent at once.
    """
    if timetag == IMMEDIATELY:
        return None
    return (timetag >> 32) - NTP_UNIX_OFFSET + (timetag & 0xFFFF_FFFF) / 4294967296.0


def unix_to_ntp(t: float) -> int:
    """The NTP timetag of a unix time (rounded down to 1/2**32 s)."""
    seconds = math.floor(t)
    fraction = min(int((t - seconds) * 4294967296.0), 0xFFFF_FFFF)
    timetag = ((seconds + NTP_UNIX_OFFSET) << 32) | fraction
    if not 0 <= timetag <= 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError(f"unix time {t} is outside NTP era 0")
    return timetag


# ---- decoding ----------------------------------------------------------------------------------

def one_string(data: bytes) -> tuple[str, str] | None:
    """(address, text) when ``data`` is exactly one well-formed message with one string
    argument (a QLab network cue), else None: then decode_packet says what it is. Never
    raises. The listener's fast lane and decode_packet's common case share this check."""
    shape = _ONE_STRING.fullmatch(data)
    if shape is None:
        return None
    address_end, text_start, text_end = shape.end(1), shape.start(3), shape.end(3)
    if (shape.end(2) != (address_end & ~3) + 4
            or len(data) != text_start + ((text_end - text_start) & ~3) + 4):
        return None
    try:
        return data[:address_end].decode("utf-8"), data[text_start:text_end].decode("utf-8")
    except UnicodeDecodeError:
        return None  # the general decoder names the bad string


def decode_packet(data: bytes) -> list[OscMessage]:
    """Every message of a packet or (nested) bundle, flattened in order. Raises OscError only."""
    if type(data) is not bytes:
        data = bytes(data)
    end = len(data)
    try:
        if end and data[0] == 0x2F:  # the common case: one message, no bundle
            common = one_string(data)
            if common is not None:
                return [OscMessage(common[0], (("s", common[1]),))]
            address, args = _decode_message(data, 0, end)
            return [OscMessage(address, args)]
        out: list[OscMessage] = []
        _decode_element(data, 0, end, None, 1, out)
    except OscError:
        raise
    except (ValueError, IndexError, struct.error, OverflowError) as exc:
        # Belt and braces: a decoder bug still refuses the packet. The fuzz tests fail on this
        # message, so such a bug is found, not hidden.
        raise OscError(f"internal decoder error: {type(exc).__name__}") from None
    return out


def _decode_element(data: bytes, start: int, end: int, due: float | None, depth: int,
                    out: list[OscMessage]) -> None:
    if start >= end:
        raise OscError("empty packet")
    first = data[start]
    if first == 0x2F:  # "/"
        address, args = _decode_message(data, start, end)
        out.append(OscMessage(address, args, due))
    elif first == 0x23 and data.startswith(BUNDLE_TAG, start):  # "#bundle\0"
        _decode_bundle(data, start, end, due, depth, out)
    else:
        raise OscError("packet is neither a message (starts with '/') nor a #bundle")


def _decode_bundle(data: bytes, start: int, end: int, due: float | None, depth: int,
                   out: list[OscMessage]) -> None:
    if depth > MAX_DEPTH:
        raise OscError(f"bundles nested deeper than {MAX_DEPTH}")
    if end - start < 16:
        raise OscError("bundle without a complete timetag")
    own = ntp_to_unix(_U64.unpack_from(data, start + 8)[0])
    if own is not None and (due is None or own > due):
        due = own  # a nested bundle never fires before its enclosing one
    pos = start + 16
    while pos < end:
        if pos + 4 > end:
            raise OscError(f"bundle element size cut short at byte {pos}")
        size = _I32.unpack_from(data, pos)[0]
        if size <= 0 or size & 3:
            raise OscError(f"bundle element size {size} at byte {pos} is not a positive "
                           "multiple of 4")
        pos += 4
        if pos + size > end:
            raise OscError(f"bundle element of {size} bytes at byte {pos} runs past the end")
        _decode_element(data, pos, pos + size, due, depth + 1, out)
        pos += size  # size > 0: every turn consumes bytes


def _string_error(data: bytes, pos: int, end: int, what: str) -> OscError:
    """Why the string at pos is malformed (the slow path, only for refusals)."""
    if pos >= end:
        return OscError(f"{what} is missing")
    nul = data.find(0, pos, end)
    if nul < 0:
        return OscError(f"{what} at byte {pos} has no terminating NUL")
    if pos + ((nul - pos) & ~3) + 4 > end:
        return OscError(f"{what} at byte {pos} lacks its padding")
    return OscError(f"{what} at byte {pos} has non-NUL bytes in its padding")


def _decode_message(data: bytes, start: int, end: int) -> tuple[str, tuple]:
    # The address and type tag strings are read inline: this is the hot path of every cue.
    nul = data.find(0, start, end)
    pos = start + ((nul - start) & ~3) + 4
    if nul < 0 or pos > end or data[nul:pos] != _PADDING[pos - nul]:
        raise _string_error(data, start, end, "address")
    try:
        address = data[start:nul].decode("utf-8")
    except UnicodeDecodeError:
        raise OscError(f"address at byte {start} is not valid UTF-8") from None
    if pos == end:
        return address, ()  # OSC 1.0 allows a message without a type tag string
    if data[pos] != 0x2C:  # ","
        raise OscError("data after the address does not start with a ',' type tag string")
    tag_start = pos
    nul = data.find(0, pos, end)
    pos = tag_start + ((nul - tag_start) & ~3) + 4
    if nul < 0 or pos > end or data[nul:pos] != _PADDING[pos - nul]:
        raise _string_error(data, tag_start, end, "type tag string")
    try:
        tags = data[tag_start + 1:nul].decode("ascii")
    except UnicodeDecodeError:
        raise OscError(f"type tag string at byte {tag_start} is not ASCII") from None
    args: list[tuple[str, object]] = []
    append = args.append
    find = data.find
    i32, f32 = _I32.unpack_from, _F32.unpack_from
    arrays = 0
    index = 0  # argument number, from 1, for error messages (formatted only on refusal)
    for tag in tags:
        index += 1
        if tag == "s" or tag == "S":
            nul = find(0, pos, end)
            after = pos + ((nul - pos) & ~3) + 4
            if nul < 0 or after > end or data[nul:after] != _PADDING[after - nul]:
                raise _string_error(data, pos, end, f"argument {index} ({tag})")
            try:
                append((tag, data[pos:nul].decode("utf-8")))
            except UnicodeDecodeError:
                raise OscError(f"argument {index} ({tag}) at byte {pos} is not valid "
                               "UTF-8") from None
            pos = after
        elif tag == "i":
            if pos + 4 > end:
                raise OscError(f"argument {index} (i) is truncated")
            append(("i", i32(data, pos)[0]))
            pos += 4
        elif tag == "f":
            if pos + 4 > end:
                raise OscError(f"argument {index} (f) is truncated")
            append(("f", f32(data, pos)[0]))
            pos += 4
        elif tag in _NO_DATA:
            if tag == "T":
                append(("T", True))
            elif tag == "F":
                append(("F", False))
            elif tag == "N":
                append(("N", None))
            elif tag == "I":
                append(("I", INFINITUM))
            elif tag == "[":
                arrays += 1
                append(("[", None))
            else:
                if arrays == 0:
                    raise OscError(f"argument {index}: ']' without a matching '['")
                arrays -= 1
                append(("]", None))
        elif tag == "b":
            if pos + 4 > end:
                raise OscError(f"argument {index} (b) size is truncated")
            size = _I32.unpack_from(data, pos)[0]
            if size < 0:
                raise OscError(f"argument {index} (b) has a negative size {size}")
            pos += 4
            after = pos + ((size + 3) & ~3)
            if after > end:
                raise OscError(f"argument {index} (b) of {size} bytes runs past the end")
            if data[pos + size:after] != _PADDING[after - pos - size]:
                raise OscError(f"argument {index} (b) has non-NUL bytes in its padding")
            append(("b", data[pos:pos + size]))
            pos = after
        elif tag == "h" or tag == "d" or tag == "t":
            if pos + 8 > end:
                raise OscError(f"argument {index} ({tag}) is truncated")
            codec = _I64 if tag == "h" else _F64 if tag == "d" else _U64
            append((tag, codec.unpack_from(data, pos)[0]))
            pos += 8
        elif tag == "c" or tag == "r" or tag == "m":
            if pos + 4 > end:
                raise OscError(f"argument {index} ({tag}) is truncated")
            if tag == "m":
                append(("m", data[pos:pos + 4]))
            else:
                value = _U32.unpack_from(data, pos)[0]
                if tag == "c":
                    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                        raise OscError(f"argument {index} (c) {value:#x} is not a character")
                    append(("c", chr(value)))
                else:
                    append(("r", value))
            pos += 4
        else:
            raise OscError(f"argument {index} has unknown type tag {tag!r}")
    if arrays:
        raise OscError("'[' without a matching ']'")
    if pos != end:
        raise OscError(f"{end - pos} bytes after the last argument")
    return address, tuple(args)


# ---- encoding (tests and `oscar send`; permissive: it writes what it is told) ------------------

def _pad_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    if b"\x00" in raw:
        raise ValueError("OSC strings cannot contain NUL")
    return raw + _PADDING[4 - (len(raw) & 3)]


def _pad_bytes(raw: bytes) -> bytes:
    return _I32.pack(len(raw)) + raw + _PADDING[(4 - (len(raw) & 3)) & 3]


def _infer(value: object) -> tuple[str, object]:
    if value is True:
        return "T", True
    if value is False:
        return "F", False
    if value is None:
        return "N", None
    if value is INFINITUM:
        return "I", INFINITUM
    if isinstance(value, int):
        return ("i" if -2**31 <= value < 2**31 else "h"), value
    if isinstance(value, float):
        return "f", value
    if isinstance(value, str):
        return "s", value
    if isinstance(value, bytes | bytearray):
        return "b", bytes(value)
    raise ValueError(f"no OSC type for {type(value).__name__}; pass (tag, value)")


def encode_message(address: str, args: Iterable[object] = ()) -> bytes:
    """One OSC message. Each argument is ``(tag, value)`` (any tag of the module table) or a
    plain value whose tag is inferred: str s, int i (h beyond 32 bits), float f, bytes b,
    True T, False F, None N, INFINITUM I. Brackets are not checked for balance."""
    tags = [","]
    body = []
    for arg in args:
        if isinstance(arg, tuple) and len(arg) == 2 and isinstance(arg[0], str):
            tag, value = arg
        else:
            tag, value = _infer(arg)
        tags.append(tag)
        if tag in ("s", "S"):
            body.append(_pad_string(str(value)))
        elif tag == "i":
            body.append(_I32.pack(value))
        elif tag == "f":
            body.append(_F32.pack(value))
        elif tag == "h":
            body.append(_I64.pack(value))
        elif tag == "d":
            body.append(_F64.pack(value))
        elif tag == "t":
            body.append(_U64.pack(value))
        elif tag == "r":
            body.append(_U32.pack(value))
        elif tag == "c":  # one character, or its code point as an int
            if isinstance(value, int):
                body.append(_U32.pack(value))
            else:
                char = str(value)
                if len(char) != 1:
                    raise ValueError(f"c needs exactly one character, not {char!r}")
                body.append(_U32.pack(ord(char)))
        elif tag == "m":
            if not isinstance(value, bytes | bytearray) or len(value) != 4:
                raise ValueError("m needs exactly 4 bytes")
            body.append(bytes(value))
        elif tag == "b":
            body.append(_pad_bytes(bytes(value)))
        elif tag not in _NO_DATA:
            raise ValueError(f"unknown OSC type tag {tag!r}")
    return _pad_string(address) + _pad_string("".join(tags)) + b"".join(body)


def encode_bundle(timetag: int | None, elements: Iterable[bytes]) -> bytes:
    """A bundle of encoded messages or bundles; timetag None or 1 means immediately."""
    out = [BUNDLE_TAG, _U64.pack(IMMEDIATELY if timetag is None else timetag)]
    for element in elements:
        out.append(_I32.pack(len(element)))
        out.append(element)
    return b"".join(out)
