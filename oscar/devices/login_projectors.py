"""Projector logins: PJLink, Panasonic NTCONTROL, Sony ADCP (Epson: login_escvp.py).

Wire facts (docs/devices.md has the sources): PJLink greets ``PJLINK 0`` / ``PJLINK 1 <random>``
and wants md5(random + password) in front of the first command; NTCONTROL greets
``NTCONTROL 0`` / ``NTCONTROL 1 <random>`` and wants md5(user:password:random) + ``00`` in front
of every command; ADCP greets ``NOKEY`` or a challenge answered with sha256(challenge +
password.
"""

from __future__ import annotations

import hashlib
import re

from oscar.devices.login_base import (
    WAIT,
    LineSplitter,
    Step,
    TerminalMixin,
    quote,
)

_TOKEN = re.compile(rb"[\x21-\x7e]{1,64}")  # a greeting's random: printable, no spaces
_CHALLENGE = re.compile(rb"[\x21-\x7e]{1,256}")


def pjlink_digest(random_hex: str, password: str) -> str:
    """PJLink class 1: md5(random + password) as 32 lowercase hex digits."""
    return hashlib.md5((random_hex + password).encode("utf-8")).hexdigest()


def ntcontrol_digest(user: str, password: str, random: str) -> str:
    """Panasonic NTCONTROL: md5("user:password:random") as 32 lowercase hex digits."""
    return hashlib.md5(f"{user}:{password}:{random}".encode()).hexdigest()


def adcp_answer(challenge: str, password: str) -> str:
    """Sony ADCP: sha256(challenge + password) as 64 lowercase hex digits."""
    return hashlib.sha256((challenge + password).encode("utf-8")).hexdigest()


def _token_text(data: bytes) -> str:
    return data.decode("latin-1")  # a token is printable ASCII, so this is exact


class PjlinkSession(TerminalMixin):
    """PJLink class 1. The hash only proves itself on the first command's answer: a wrong one
    gets ``PJLINK ERRA`` there, which ``reply_failed`` reports (and the projector closes)."""

    prefix_every = False

    def __init__(self, username: str, password: str):
        self._password = password
        self._lines = LineSplitter()
        self.prefix = b""

    def opening(self) -> Step:
        return WAIT

    def feed(self, data: bytes) -> Step:
        final = self._after_final(data)
        if final is not None:
            return final
        self._lines.feed(data)
        line = self._lines.next_line()
        if line is None:
            if self._lines.overflow:
                return self._finish(Step(state="failed", detail="no greeting (no PJLINK line)"))
            return WAIT
        return self._finish(self._greeting(line.strip(b" "), self._lines.remainder()))

    def _greeting(self, line: bytes, rest: bytes) -> Step:
        parts = line.split(b" ")
        if parts == [b"PJLINK", b"0"]:
            return Step(state="ready", rest=rest)
        if len(parts) == 3 and parts[:2] == [b"PJLINK", b"1"] and _TOKEN.fullmatch(parts[2]):
            if not self._password:
                return Step(state="failed",
                            detail="projector asks for a password (PJLINK 1); none is set")
            self.prefix = pjlink_digest(_token_text(parts[2]), self._password).encode("ascii")
            return Step(state="ready", rest=rest)
        if parts == [b"PJLINK", b"ERRA"]:
            return Step(state="failed", detail="projector refused the connection (PJLINK ERRA)")
        return Step(state="failed", detail=f"not a PJLink greeting: {quote(line)}")

    def reply_failed(self, line: bytes) -> str | None:
        text = line.strip().upper()
        if text == b"PJLINK ERRA" or text.endswith(b"=ERRA"):
            return "wrong password (PJLINK ERRA)"
        return None


class NtcontrolSession(TerminalMixin):
    """Panasonic NTCONTROL: every command on the connection gets ``<hash>00`` (protected) or
    ``00`` (open) in front; the operator writes the bare command (``PON``)."""

    prefix_every = True

    def __init__(self, username: str, password: str):
        self._username = username
        self._password = password
        self._lines = LineSplitter()
        self.prefix = b"00"

    def opening(self) -> Step:
        return WAIT

    def feed(self, data: bytes) -> Step:
        final = self._after_final(data)
        if final is not None:
            return final
        self._lines.feed(data)
        line = self._lines.next_line()
        if line is None:
            if self._lines.overflow:
                return self._finish(Step(state="failed",
                                         detail="no greeting (no NTCONTROL line)"))
            return WAIT
        return self._finish(self._greeting(line.strip(b" "), self._lines.remainder()))

    def _greeting(self, line: bytes, rest: bytes) -> Step:
        parts = line.split(b" ")
        if parts == [b"NTCONTROL", b"0"]:
            return Step(state="ready", rest=rest)
        if len(parts) == 3 and parts[:2] == [b"NTCONTROL", b"1"] and _TOKEN.fullmatch(parts[2]):
            if not self._password:
                return Step(state="failed",
                            detail="projector asks for a login (NTCONTROL 1); set username "
                                   "and password")
            digest = ntcontrol_digest(self._username, self._password, _token_text(parts[2]))
            self.prefix = digest.encode("ascii") + b"00"
            return Step(state="ready", rest=rest)
        if b"ERRA" in line:
            return Step(state="failed", detail="projector refused the connection (ERRA)")
        return Step(state="failed", detail=f"not an NTCONTROL greeting: {quote(line)}")

    def reply_failed(self, line: bytes) -> str | None:
        text = line.strip().upper()
        if text in (b"ERRA", b"00ERRA", b"PJLINK ERRA"):
            return "wrong username or password (ERRA)"
        return None


class AdcpSession(TerminalMixin):
    """Sony ADCP: ``NOKEY`` = open; otherwise the line is a challenge, answered with
    sha256(challenge + password) in hex + CRLF; the display says ``OK`` or ``ERR_AUTH``."""

    prefix = b""
    prefix_every = False

    def __init__(self, username: str, password: str):
        self._password = password
        self._lines = LineSplitter()
        self._answered = False

    def opening(self) -> Step:
        return WAIT

    def feed(self, data: bytes) -> Step:
        final = self._after_final(data)
        if final is not None:
            return final
        self._lines.feed(data)
        line = self._lines.next_line()
        if line is None:
            if self._lines.overflow:
                return self._finish(Step(state="failed", detail="no greeting (no ADCP line)"))
            return WAIT
        line = line.strip(b" ")
        if not self._answered:
            if line.upper() in (b"NOKEY", b"OK"):
                return self._finish(Step(state="ready", rest=self._lines.remainder()))
            if line.upper() == b"ERR_AUTH":
                return self._finish(Step(state="failed", detail="display refused (ERR_AUTH)"))
            if not _CHALLENGE.fullmatch(line):
                return self._finish(Step(state="failed",
                                         detail=f"not an ADCP greeting: {quote(line)}"))
            if not self._password:
                return self._finish(Step(state="failed",
                                         detail="display asks for a password; none is set"))
            self._answered = True
            answer = adcp_answer(_token_text(line), self._password).encode("ascii") + b"\r\n"
            # The answer to the challenge may already be in the buffer: look at it now.
            return self._merge(answer, self.feed(b""))
        if line.upper() == b"OK":
            return self._finish(Step(state="ready", rest=self._lines.remainder()))
        if line.upper() == b"ERR_AUTH":
            return self._finish(Step(state="failed", detail="wrong password (ERR_AUTH)"))
        return self._finish(Step(state="failed",
                                 detail=f"unexpected answer to the login: {quote(line)}"))

    @staticmethod
    def _merge(send: bytes, step: Step) -> Step:
        return Step(send=send + step.send, state=step.state, detail=step.detail, rest=step.rest)

    def reply_failed(self, line: bytes) -> str | None:
        if line.strip().upper() == b"ERR_AUTH":
            return "not authorized (ERR_AUTH)"
        return None
