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

from oscar.devices.login_base import LineLogin, LineSplitter, Step, merge, quote

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


class _RandomGreeting(LineLogin):
    """A PJLink-style greeting line: ``<WORD> 0`` = open, ``<WORD> 1 <random>`` = protected
    (``_protected(random)`` makes the prefix; failed without a password); anything else is the
    projector's refusal (``_refusal`` says which) or not a greeting."""

    WORD: bytes
    NAME: str  # "not <NAME> greeting"
    NO_PASSWORD: str  # the detail when protected and no password is set
    _password: str

    def _greeting(self, line: bytes, rest: bytes) -> Step:
        parts = line.split(b" ")
        if parts == [self.WORD, b"0"]:
            return Step(state="ready", rest=rest)
        if len(parts) == 3 and parts[:2] == [self.WORD, b"1"] and _TOKEN.fullmatch(parts[2]):
            if not self._password:
                return Step(state="failed", detail=self.NO_PASSWORD)
            self.prefix = self._protected(_token_text(parts[2]))
            return Step(state="ready", rest=rest)
        refusal = self._refusal(line, parts)
        if refusal:
            return Step(state="failed", detail=refusal)
        return Step(state="failed", detail=f"not {self.NAME} greeting: {quote(line)}")

    def _protected(self, random: str) -> bytes:
        raise NotImplementedError

    def _refusal(self, line: bytes, parts: list[bytes]) -> str | None:
        raise NotImplementedError


class PjlinkSession(_RandomGreeting):
    """PJLink class 1. The hash only proves itself on the first command's answer: a wrong one
    gets ``PJLINK ERRA`` there, which ``reply_failed`` reports (and the projector closes)."""

    WORD = b"PJLINK"
    NAME = "a PJLink"
    NO_PASSWORD = "projector asks for a password (PJLINK 1); none is set"
    NO_GREETING = "no greeting (no PJLINK line)"

    def __init__(self, username: str, password: str):
        self._password = password
        self._lines = LineSplitter()
        self.prefix = b""

    def _protected(self, random: str) -> bytes:
        return pjlink_digest(random, self._password).encode("ascii")

    def _refusal(self, line: bytes, parts: list[bytes]) -> str | None:
        if parts == [b"PJLINK", b"ERRA"]:
            return "projector refused the connection (PJLINK ERRA)"
        return None

    def reply_failed(self, line: bytes) -> str | None:
        text = line.strip().upper()
        if text == b"PJLINK ERRA" or text.endswith(b"=ERRA"):
            return "wrong password (PJLINK ERRA)"
        return None


class NtcontrolSession(_RandomGreeting):
    """Panasonic NTCONTROL: every command on the connection gets ``<hash>00`` (protected) or
    ``00`` (open) in front; the operator writes the bare command (``PON``)."""

    prefix_every = True
    WORD = b"NTCONTROL"
    NAME = "an NTCONTROL"
    NO_PASSWORD = "projector asks for a login (NTCONTROL 1); set username and password"
    NO_GREETING = "no greeting (no NTCONTROL line)"

    def __init__(self, username: str, password: str):
        self._username = username
        self._password = password
        self._lines = LineSplitter()
        self.prefix = b"00"

    def _protected(self, random: str) -> bytes:
        return ntcontrol_digest(self._username, self._password, random).encode("ascii") + b"00"

    def _refusal(self, line: bytes, parts: list[bytes]) -> str | None:
        if b"ERRA" in line:
            return "projector refused the connection (ERRA)"
        return None

    def reply_failed(self, line: bytes) -> str | None:
        text = line.strip().upper()
        if text in (b"ERRA", b"00ERRA", b"PJLINK ERRA"):
            return "wrong username or password (ERRA)"
        return None


class AdcpSession(LineLogin):
    """Sony ADCP: ``NOKEY`` = open; otherwise the line is a challenge, answered with
    sha256(challenge + password) in hex + CRLF; the display says ``OK`` or ``ERR_AUTH``."""

    NO_GREETING = "no greeting (no ADCP line)"

    def __init__(self, username: str, password: str):
        self._password = password
        self._lines = LineSplitter()
        self._answered = False

    def _line(self, line: bytes) -> Step:
        line = line.strip(b" ")
        if not self._answered:
            if line.upper() in (b"NOKEY", b"OK"):
                return Step(state="ready", rest=self._lines.remainder())
            if line.upper() == b"ERR_AUTH":
                return Step(state="failed", detail="display refused (ERR_AUTH)")
            if not _CHALLENGE.fullmatch(line):
                return Step(state="failed", detail=f"not an ADCP greeting: {quote(line)}")
            if not self._password:
                return Step(state="failed", detail="display asks for a password; none is set")
            self._answered = True
            answer = adcp_answer(_token_text(line), self._password).encode("ascii") + b"\r\n"
            # The answer to the challenge may already be in the buffer: look at it now.
            return merge(answer, self.feed(b""))
        if line.upper() == b"OK":
            return Step(state="ready", rest=self._lines.remainder())
        if line.upper() == b"ERR_AUTH":
            return Step(state="failed", detail="wrong password (ERR_AUTH)")
        return Step(state="failed", detail=f"unexpected answer to the login: {quote(line)}")

    def reply_failed(self, line: bytes) -> str | None:
        if line.strip().upper() == b"ERR_AUTH":
            return "not authorized (ERR_AUTH)"
        return None
