"""What every login recipe shares: the Step result, a bounded line splitter, safe detail text.

Sessions are pure state machines: bytes in, ``Step`` out; no sockets, no clock. A peer that
sends garbage, never finishes its greeting or floods us gets ``Step(state="failed")`` (or keeps
``wait`` while its bytes are discarded), never an exception and never unbounded memory; the actor
applies its own login timeout.
"""

from __future__ import annotations

import re
from typing import Protocol

from oscar import escapes
from oscar.records import record

MAX_GREETING = 4096  # bytes of an unfinished greeting/prompt line we keep before giving up
DETAIL_BYTES = 60  # bytes of peer text quoted in a detail


@record(frozen=True)
class Step:
    send: bytes = b""  # write these bytes now (may be empty)
    state: str = "wait"  # "wait" (need more input), "ready", "failed"
    detail: str = ""  # operator text; never contains the password
    rest: bytes = b""  # bytes received after the login finished (they are replies)


WAIT = Step()


class LoginSession(Protocol):
    prefix: bytes  # put in front of commands after ready (pjlink/ntcontrol), else b""
    prefix_every: bool  # True: every command on this connection; False: the first only

    def opening(self) -> Step: ...

    def feed(self, data: bytes) -> Step: ...

    def reply_failed(self, line: bytes) -> str | None: ...


def quote(data: bytes) -> str:
    """Peer bytes for a detail: escaped, at most DETAIL_BYTES of them."""
    text = escapes.encode(bytes(data[:DETAIL_BYTES]))
    return text + ("..." if len(data) > DETAIL_BYTES else "")


class LineSplitter:
    """Greeting lines ending at CR, LF or CRLF, bounded.

    ``feed`` stores bytes; ``next_line`` pops one complete line (without its end, empty lines
    skipped unless ``keep_empty``), ``None`` when there is none yet. ``overflow`` says a line grew
    past MAX_GREETING without its end (the session then fails: "no greeting"); ``remainder``
    takes whatever is left (the ``rest``). A CR that ends one chunk and an LF that starts the
    next count as one line end. ``prompt`` (e.g. ``b"password:"``, matched case-insensitively)
    also ends a line and stays in it: prompts come without a line end. The same bytes give the
    same lines however they are chunked.
    """

    def __init__(self, keep_empty: bool = False, ends: bytes = b"\r\n", prompt: bytes = b""):
        self._buf = bytearray()
        self._keep_empty = keep_empty
        self._ends = ends  # the bytes that end a line (videohub: LF only)
        self._skip_lf = False  # the previous line ended with a CR: a leading LF belongs to it
        pattern = b"[" + re.escape(ends) + b"]"
        if prompt:
            pattern += b"|" + re.escape(prompt)
        self._end_re = re.compile(pattern, re.IGNORECASE)
        self._back = max(0, len(prompt) - 1)  # a prompt may straddle two chunks
        self._scanned = 0  # bytes of _buf already searched for a line end
        self._too_long = False

    def feed(self, data: bytes) -> None:
        if self._skip_lf and data[:1] == b"\n" and not self._buf:
            data = data[1:]
        if data:
            self._skip_lf = False
        self._buf += data

    def next_line(self) -> bytes | None:
        while not self._too_long:
            found = self._end_re.search(self._buf, self._scanned)
            if found is None:
                self._scanned = max(0, len(self._buf) - self._back)
                return None
            cut = found.start()
            if cut > MAX_GREETING:
                self._too_long = True
                return None
            end = found.end()
            if self._buf[cut] in self._ends:
                line = bytes(self._buf[:cut])
                if self._buf[cut] == 0x0D and b"\n" in self._ends:
                    if end < len(self._buf):
                        if self._buf[end] == 0x0A:
                            end += 1
                    else:
                        self._skip_lf = True
            else:  # a prompt: it is the end of the line and part of it
                line = bytes(self._buf[:end])
            del self._buf[:end]
            self._scanned = 0
            if line or self._keep_empty:
                return line
        return None

    @property
    def pending(self) -> bytes:
        return bytes(self._buf)

    @property
    def overflow(self) -> bool:
        return self._too_long or len(self._buf) > MAX_GREETING

    def remainder(self) -> bytes:
        rest = bytes(self._buf)
        self._buf.clear()
        self._scanned = 0
        return rest


class TerminalMixin:
    """Once a session is ready or failed it stays so; later feeds are answered consistently."""

    _final: Step | None = None

    def _finish(self, step: Step) -> Step:
        if step.state != "wait":
            self._final = Step(state=step.state, detail=step.detail)
        return step

    def _after_final(self, data: bytes) -> Step | None:
        if self._final is None:
            return None
        if self._final.state == "ready":
            return Step(state="ready", rest=bytes(data))
        return self._final

    def __repr__(self) -> str:  # never the password
        return f"<{type(self).__name__} final={self._final.state if self._final else None}>"


def merge(send: bytes, step: Step) -> Step:
    """``send`` written before whatever ``step`` (the rest of the buffered input) says."""
    return Step(send=send + step.send, state=step.state, detail=step.detail, rest=step.rest)


class LineLogin(TerminalMixin):
    """A login read line by line from ``self._lines`` (a LineSplitter the subclass makes).

    ``feed`` hands each complete line to ``_line``: a Step it returns ends this feed (and, once
    ready or failed, the session); None reads the next line. When no line is left, a line grown
    past MAX_GREETING fails with ``NO_GREETING``, else the session waits. The default ``_line``
    is for a one-line greeting: ``_greeting(line, rest)`` judges the line (spaces stripped),
    ``rest`` being what came after it."""

    prefix = b""
    prefix_every = False
    NO_GREETING = "no greeting"
    _lines: LineSplitter

    def opening(self) -> Step:
        return WAIT

    def feed(self, data: bytes) -> Step:
        final = self._after_final(data)
        if final is not None:
            return final
        self._lines.feed(data)
        while (line := self._lines.next_line()) is not None:
            step = self._line(line)
            if step is not None:
                return self._finish(step)
        if self._lines.overflow:
            return self._finish(Step(state="failed", detail=self.NO_GREETING))
        return WAIT

    def _line(self, line: bytes) -> Step | None:
        return self._greeting(line.strip(b" "), self._lines.remainder())

    def _greeting(self, line: bytes, rest: bytes) -> Step:
        raise NotImplementedError

    def reply_failed(self, line: bytes) -> str | None:
        return None
