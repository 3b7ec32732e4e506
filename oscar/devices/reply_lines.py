"""Split what a device sends into reply lines (contract B), bounded, independent of chunking.

- ``terminator=b""`` (the default): a line ends at CR, LF or CRLF; empty lines are dropped.
- any other terminator (``b"\\r\\n"``, ``b")"``, ``b":"``, ``b"\\n\\n"``): a line ends at exactly
  that byte sequence; CR and LF at either end of a line are trimmed (Epson answers ``PWR=01\\r:``,
  Christie may put a CRLF between its ``(...)`` answers), and an empty line is kept (Epson's bare
  ``:`` acknowledges a command, which is a reply).
- a partial line that reaches ``limit`` bytes without its end is emitted as is (its first
  ``limit`` bytes), so memory stays bounded whatever a device sends.

The same bytes give the same lines however they are chunked.
"""

from __future__ import annotations

import re

_ANY_END = re.compile(rb"[\r\n]")


class ReplyLines:
    def __init__(self, terminator: bytes = b"", limit: int = 65536):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.terminator = bytes(terminator)
        self.limit = limit
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf searched already (no line end starts before it)
        # A partial line is cut only once no terminator could still end within the first
        # ``limit`` bytes: that keeps the result independent of chunking.
        self._cut_at = limit + max(1, len(self.terminator))

    def pending(self) -> int:
        """Bytes held for an unfinished line."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Complete lines in ``data`` (plus what was pending), without their terminator."""
        if not data:
            return []
        self._buf += data
        return self._split_any() if not self.terminator else self._split_exact()

    def _split_any(self) -> list[bytes]:
        lines = []
        buf = self._buf
        start = 0
        while True:
            found = _ANY_END.search(buf, max(start, self._scanned))
            end = found.start() if found else -1
            if found is not None and end - start <= self.limit:
                if end > start:
                    lines.append(bytes(buf[start:end]))
                start = end + 1
                self._scanned = start
                continue
            if len(buf) - start >= self._cut_at or found is not None:
                lines.append(bytes(buf[start:start + self.limit]))
                start += self.limit
                self._scanned = start
                continue
            self._scanned = len(buf)
            break
        del buf[:start]
        self._scanned -= start
        return lines

    def _split_exact(self) -> list[bytes]:
        lines = []
        buf = self._buf
        term = self.terminator
        start = 0
        while True:
            found = buf.find(term, max(start, self._scanned))
            if found >= 0 and found - start <= self.limit:
                lines.append(_trim(buf[start:found]))
                start = found + len(term)
                self._scanned = start
                continue
            if len(buf) - start >= self._cut_at:
                lines.append(_trim(buf[start:start + self.limit]))
                start += self.limit
                self._scanned = start
                continue
            # A terminator may begin in the last len(term) - 1 bytes: search those again.
            self._scanned = max(start, len(buf) - len(term) + 1)
            break
        del buf[:start]
        self._scanned -= start
        return lines


def _trim(line: bytearray) -> bytes:
    return bytes(line.strip(b"\r\n"))
