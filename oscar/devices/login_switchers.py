"""Logins for routers, switchers and media servers: none, WATCHOUT, Extron SIS, Kramer P3000,
Blackmagic Videohub. Wire facts and sources: docs/devices.md."""

from __future__ import annotations

import re

from oscar.devices.login_base import (
    WAIT,
    LineLogin,
    LineSplitter,
    Step,
    TerminalMixin,
    merge,
    quote,
)


class NoLogin(TerminalMixin):
    """Connected means ready (generic, christie)."""

    prefix = b""
    prefix_every = False

    def __init__(self, username: str = "", password: str = ""):
        pass

    def opening(self) -> Step:
        return self._finish(Step(state="ready"))

    def feed(self, data: bytes) -> Step:
        return Step(state="ready", rest=bytes(data))

    def reply_failed(self, line: bytes) -> str | None:
        return None


class WatchoutSession(NoLogin):
    """WATCHOUT: ready at once (``authenticate 1`` is the profile's on_connect); a connection
    that was not authenticated answers ``error 8.1 not authorized``."""

    def reply_failed(self, line: bytes) -> str | None:
        text = line.strip().lower()
        if text.startswith(b"error 8.1") or text.startswith(b"error 8 1") or (
                text.startswith(b"error") and b"not authorized" in text):
            return "not authorized (error 8.1): send authenticate 1 on connect"
        return None


def _has_line_break(password: str) -> bool:
    return "\r" in password or "\n" in password


class ExtronSession(LineLogin):
    """Extron SIS: a copyright banner (two lines: copyright, date), then ``Password:`` if the
    unit is protected. The password + CR answers it; ``Login Administrator`` / ``Login User``
    means in, the prompt again means wrong.

    Without a password set: ready after the two banner lines (a prompt instead fails). With one
    set: ready after ``Login ...``; an unprotected unit never prompts, so leave it blank there."""

    BANNER_LINES = 2
    NO_GREETING = "no greeting (no banner line end)"

    def __init__(self, username: str, password: str):
        self._password = password
        self._lines = LineSplitter(prompt=b"password:")
        self._banner = 0
        self._sent = False

    def opening(self) -> Step:
        if _has_line_break(self._password):
            return self._finish(Step(state="failed", detail="password contains a line break"))
        return WAIT

    def _line(self, line: bytes) -> Step | None:
        text = line.strip()
        if self._sent and text.lower().startswith(b"login "):
            return Step(state="ready", rest=self._lines.remainder())
        if _is_prompt(text):
            step = self._prompted()
            if step.state != "wait":
                return step
            return merge(step.send, self.feed(b""))  # lines already here come after
        if text:
            self._banner += 1
            if not self._password and self._banner >= self.BANNER_LINES:
                return Step(state="ready", rest=self._lines.remainder())
        return None

    def _prompted(self) -> Step:
        if not self._password:
            return Step(state="failed", detail="unit asks for a password (Password:); none is set")
        if self._sent:
            return Step(state="failed", detail="wrong password (asked again)")
        self._sent = True
        return Step(send=self._password.encode("utf-8") + b"\r")

    def reply_failed(self, line: bytes) -> str | None:
        if _is_prompt(line.strip()):
            return "unit asks for a password (Password:)"
        return None


def _is_prompt(text: bytes) -> bool:
    return text.lower().endswith(b"password:")


_KRAMER_OK = re.compile(rb"~\d*@\s*OK\s*$", re.IGNORECASE)
_KRAMER_ERR = re.compile(rb"ERR\s*(\d{3})", re.IGNORECASE)


class KramerSession(LineLogin):
    """Kramer Protocol 3000: ``#`` handshake -> ``~01@ OK``; with a password, ``#LOGIN`` (as
    ``#LOGIN user,password`` when a username is set, else ``#LOGIN password``) -> a
    ``~01@LOGIN ... OK`` line, or ``ERR 004`` for a wrong one."""

    NO_GREETING = "no greeting (no answer to the # handshake)"

    def __init__(self, username: str, password: str):
        self._username = username
        self._password = password
        self._lines = LineSplitter()
        self._phase = "handshake"

    def opening(self) -> Step:
        if _has_line_break(self._password) or _has_line_break(self._username):
            return self._finish(Step(state="failed",
                                     detail="username or password contains a line break"))
        return Step(send=b"#\r")

    def _line(self, line: bytes) -> Step | None:
        text = line.strip()
        if self._phase == "handshake":
            if _KRAMER_OK.search(text):
                if not self._password:
                    return Step(state="ready", rest=self._lines.remainder())
                self._phase = "login"
                return merge(self._login_bytes(), self.feed(b""))
            error = _KRAMER_ERR.search(text)
            if error and text.startswith(b"~"):
                return Step(state="failed", detail=f"handshake refused (ERR {error[1].decode()})")
            return None  # banners and unsolicited lines
        if b"LOGIN" in text.upper():
            # The device echoes the password: judge by the end of the line, and quote
            # only the error code (the last one: the password may look like one too).
            if text.upper().endswith(b"OK"):
                return Step(state="ready", rest=self._lines.remainder())
            codes = _KRAMER_ERR.findall(text)
            if codes:
                return Step(state="failed", detail=f"wrong password (ERR {codes[-1].decode()})")
        elif text.startswith(b"~") and _KRAMER_ERR.search(text):
            codes = _KRAMER_ERR.findall(text)  # e.g. ERR 002: no LOGIN on this unit
            return Step(state="failed", detail=f"login refused (ERR {codes[-1].decode()})")
        return None

    def _login_bytes(self) -> bytes:
        who = f"{self._username}," if self._username else ""
        return f"#LOGIN {who}{self._password}\r".encode()

    def reply_failed(self, line: bytes) -> str | None:
        error = _KRAMER_ERR.search(line)
        if error and error[1] == b"004":
            return "not authorized (ERR 004): set or correct the password"
        return None


class VideohubSession(LineLogin):
    """Blackmagic Videohub: no login, but the hub dumps its whole state on connect. Drained
    block by block (only the current line is kept) until ``END PRELUDE:`` ends it; hubs whose
    preamble says a protocol version below 2.4 (which may not send it; *unverified*) are ready
    after the ``VIDEO OUTPUT ROUTING:`` block instead. ``Device present: false`` /
    ``needs_update`` fails with the hub's reason."""

    OLD_PROTOCOL = (2, 4)
    NO_GREETING = "no greeting (line too long)"

    def __init__(self, username: str = "", password: str = ""):
        self._lines = LineSplitter(keep_empty=True, ends=b"\n")
        self._block: bytes | None = None  # header of the block being read
        self._version: tuple[int, int] | None = None

    def _line(self, line: bytes) -> Step | None:
        text = line.strip(b"\r ")
        if self._block is None:
            if text:
                self._block = text
            return None
        if text:
            return self._block_line(text)
        ended, self._block = self._block, None  # a blank line ends the block
        if ended == b"END PRELUDE:" or (
                ended == b"VIDEO OUTPUT ROUTING:" and self._version is not None
                and self._version < self.OLD_PROTOCOL):
            return Step(state="ready", rest=self._lines.remainder())
        return None

    def _block_line(self, text: bytes) -> Step | None:
        if self._block == b"PROTOCOL PREAMBLE:" and text.startswith(b"Version:"):
            found = re.fullmatch(rb"Version:\s*(\d{1,4})\.(\d{1,4})", text)
            if found:
                self._version = (int(found[1]), int(found[2]))
        elif self._block == b"VIDEOHUB DEVICE:" and text.startswith(b"Device present:"):
            value = text.split(b":", 1)[1].strip()
            if value != b"true":
                return Step(state="failed",
                            detail=f"hub reports no usable router (Device present: "
                                   f"{quote(value)})")
        return None

