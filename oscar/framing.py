"""OSC over TCP stream framing, with no sockets in it.

OSC 1.1 (QLab) frames packets with SLIP (RFC 1055, double-END). OSC 1.0 (liblo's default)
prefixes each packet with a 32-bit big-endian length. A connection's first byte tells which:
0xC0 is SLIP's END; a length under 16 MiB starts with 0x00; anything else is SLIP without a
leading END.
"""

from __future__ import annotations

import struct

END = 0xC0
ESC = 0xDB
ESC_END = 0xDC
ESC_ESC = 0xDD
MAX_PACKET = 64 * 1024  # larger frames are garbage or a flood, never a cue


class FramingError(ValueError):
    """The stream broke a framing rule; the bad frame is skipped."""


def slip_encode(packet: bytes) -> bytes:
    body = packet.replace(bytes([ESC]), bytes([ESC, ESC_ESC])).replace(
        bytes([END]), bytes([ESC, ESC_END])
    )
    return bytes([END]) + body + bytes([END])


def length_prefix_encode(packet: bytes) -> bytes:
    return struct.pack(">I", len(packet)) + packet


class SlipDecoder:
    """Feed it bytes as they arrive; it returns complete packets and errors, in order."""

    def __init__(self) -> None:
        self._frame = bytearray()
        self._escaped = False
        self._overflow = False
        self._discard = False  # a bad escape was reported: drop the rest of this frame silently

    def feed(self, data: bytes) -> list[bytes | FramingError]:
        out: list[bytes | FramingError] = []
        for byte in data:
            if byte == END:
                if self._discard:
                    pass
                elif self._overflow:
                    out.append(FramingError(f"SLIP frame longer than {MAX_PACKET} bytes"))
                elif self._escaped:
                    out.append(FramingError("SLIP frame ends in the middle of an escape"))
                elif self._frame:
                    out.append(bytes(self._frame))
                self._frame.clear()
                self._escaped = self._overflow = self._discard = False
                continue
            if self._overflow or self._discard:
                continue
            if self._escaped:
                self._escaped = False
                if byte == ESC_END:
                    byte = END
                elif byte == ESC_ESC:
                    byte = ESC
                else:
                    out.append(FramingError(f"bad SLIP escape 0xDB 0x{byte:02X}"))
                    self._discard = True
                    self._frame.clear()
                    continue
            elif byte == ESC:
                self._escaped = True
                continue
            self._frame.append(byte)
            if len(self._frame) > MAX_PACKET:
                self._overflow = True
                self._frame.clear()
        return out

    @property
    def buffered(self) -> int:
        """Bytes held for the frame in progress: never more than MAX_PACKET."""
        return len(self._frame)


class LengthPrefixDecoder:
    """Feed it bytes as they arrive; it returns complete packets. Holds at most one incomplete
    frame (4 + MAX_PACKET bytes) between calls.

    A length over MAX_PACKET raises FramingError: there is no way to find the next frame
    boundary, so the caller must close the stream. The decoder stays broken (every later feed
    raises the same error and buffers nothing), so a caller that carries on cannot make it grow.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._broken: str = ""

    def feed(self, data: bytes) -> list[bytes | FramingError]:
        if self._broken:
            raise FramingError(self._broken)
        self._buffer += data
        out: list[bytes | FramingError] = []
        while len(self._buffer) >= 4:
            (size,) = struct.unpack_from(">I", self._buffer)
            if size > MAX_PACKET:
                self._broken = f"length prefix {size} exceeds {MAX_PACKET} bytes"
                self._buffer.clear()
                raise FramingError(self._broken)
            if len(self._buffer) < 4 + size:
                break
            packet = bytes(self._buffer[4:4 + size])
            del self._buffer[:4 + size]
            if packet:
                out.append(packet)
        return out

    @property
    def buffered(self) -> int:
        return len(self._buffer)


class StreamDecoder:
    """Picks SLIP or length-prefix framing from the first byte of a connection."""

    def __init__(self) -> None:
        self._inner: SlipDecoder | LengthPrefixDecoder | None = None
        self.mode = ""

    def feed(self, data: bytes) -> list[bytes | FramingError]:
        if self._inner is None:
            if not data:
                return []
            if data[0] == 0x00:
                self._inner, self.mode = LengthPrefixDecoder(), "length-prefix"
            else:
                self._inner, self.mode = SlipDecoder(), "slip"
        return self._inner.feed(data)

    @property
    def buffered(self) -> int:
        return 0 if self._inner is None else self._inner.buffered
