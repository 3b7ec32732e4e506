"""Hex payloads for ``/device/NAME/hex``: one string of hex digit pairs -> those exact bytes.

Tolerated between bytes: spaces, tabs, colons and commas; each group may carry a ``0x`` prefix.
So ``"BE EF 03 19 00"``, ``"0xBE,0xEF"``, ``"be:ef"`` and ``"beef0319"`` all work. Each group
must have an even number of digits, so a typo such as ``"BE E F"`` is refused instead of being
silently re-paired. Positions in error messages count characters from 1.
"""

from __future__ import annotations

SEPARATORS = frozenset(" \t:,")
_DIGITS = frozenset("0123456789abcdefABCDEF")


class HexError(ValueError):
    """The text is not a hex payload; the message names the position."""


def parse_hex(text: str) -> bytes:
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        if text[i] in SEPARATORS:
            i += 1
            continue
        group_start = i
        if text.startswith(("0x", "0X"), i):
            i += 2
        digits_start = i
        while i < n and text[i] not in SEPARATORS:
            if text[i] not in _DIGITS:
                raise HexError(f"{text[i]!r} at position {i + 1} is not a hex digit")
            i += 1
        count = i - digits_start
        if count == 0:
            raise HexError(f"'0x' at position {group_start + 1} has no digits after it")
        if count % 2:
            raise HexError(f"odd number of hex digits ({count}) in the group at position "
                           f"{group_start + 1}")
        out += bytes.fromhex(text[digits_start:i])
    if not out:
        raise HexError("no hex digits")
    return bytes(out)
