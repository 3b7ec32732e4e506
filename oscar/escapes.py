"""Escapes that operators type into QLab cues and device terminators.

QLab sends what the user typed except ``\\"``, so ``%1POWR 1\\r`` arrives as backslash + r.
We decode ``\\r \\n \\t \\0 \\\\ \\xNN`` exactly once; any other backslash sequence is an error so
that a typo never sends bytes the operator did not mean.
"""

from __future__ import annotations

_SIMPLE = {"r": 0x0D, "n": 0x0A, "t": 0x09, "0": 0x00, "\\": 0x5C}
_HEX = "0123456789abcdefABCDEF"


class EscapeError(ValueError):
    """A backslash sequence that is not one of the documented escapes.

    ``decode`` raises only this, ``UnicodeEncodeError`` (text the encoding cannot hold) and
    ``LookupError`` (an unknown encoding); callers on the network path map all three.
    """


def _near(text: str, i: int) -> str:
    """A few characters around position i, so a huge cue never makes a huge error message."""
    start = max(0, i - 20)
    return ("..." if start else "") + repr(text[start:i + 20]) + ("..." if i + 20 < len(text)
                                                                  else "")


def decode(text: str, encoding: str = "utf-8") -> bytes:
    """Turn operator text with escapes into the bytes to send."""
    if "\\" not in text:  # the usual cue: nothing to decode
        return text.encode(encoding)
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] != "\\":
            start = i
            i = text.find("\\", i)
            if i < 0:
                i = len(text)
            out += text[start:i].encode(encoding)
            continue
        if i + 1 >= len(text):
            raise EscapeError(f"lone backslash at the end of {_near(text, i)}")
        code = text[i + 1]
        if code in _SIMPLE:
            out.append(_SIMPLE[code])
            i += 2
        elif code == "x":
            digits = text[i + 2:i + 4]
            if len(digits) != 2 or any(d not in _HEX for d in digits):
                raise EscapeError(f"\\x needs two hex digits at position {i} of {_near(text, i)}")
            out.append(int(digits, 16))
            i += 4
        else:
            raise EscapeError(
                f"unknown escape \\{code} at position {i} of {_near(text, i)} "
                "(use \\r \\n \\t \\0 \\\\ or \\xNN)"
            )
    return bytes(out)


def encode(data: bytes) -> str:
    """Bytes back to escaped text, for display and for round-tripping terminators."""
    out = []
    for byte in data:
        char = chr(byte)
        if byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x0D:
            out.append("\\r")
        elif byte == 0x0A:
            out.append("\\n")
        elif byte == 0x09:
            out.append("\\t")
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)
