"""Projector emulators, each written from its entry in /work/shared/devices.md."""

from __future__ import annotations

import hashlib
import re

from tests.emulators.base import Connection, LineEmulator, TcpEmulator

HASH32 = re.compile(rb"[0-9a-f]{32}")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class PJLink(LineEmulator):
    """PJLink class 1 on TCP 4352: ``PJLINK 0`` or ``PJLINK 1 <8 hex>`` greeting, md5(random +
    password) as 32 lowercase hex before the first command (later ones may repeat it), ``PJLINK
    ERRA`` and close on a wrong one; replies end with CR; idle connections close after ~30 s."""

    name = "pjlink"
    default_idle_close = 30.0
    SETTABLE = {b"POWR": b"1", b"INPT": b"31", b"AVMT": b"30"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state = dict(self.SETTABLE)

    def greet(self, conn: Connection) -> None:
        if self.password:
            conn.nonce = self.random_hex(4)
            conn.send(f"PJLINK 1 {conn.nonce}\r".encode())
        else:
            conn.stage = "ready"
            conn.send(b"PJLINK 0\r")

    def line(self, conn: Connection, text: bytes) -> None:
        if self.password:
            digest = md5_hex(conn.nonce + self.password).encode()
            if HASH32.match(text) and text[:32] == digest:
                text = text[32:]
                conn.stage = "ready"
            elif conn.stage != "ready" or HASH32.match(text):
                self.refuse(conn, "wrong password" if HASH32.match(text) else "no login", text)
                conn.reply(b"PJLINK ERRA", b"\r")
                conn.close()
                return
        self.command(conn, text)
        conn.reply(self._answer(text), b"\r")

    def _answer(self, text: bytes) -> bytes:
        head, _, value = text.partition(b" ")
        if len(head) != 6 or head[:2] not in (b"%1", b"%2"):
            return b"PJLINK ERR1"
        key = head[2:]
        if key not in self.state:
            return head + b"=ERR1"
        if value == b"?":
            return head + b"=" + self.state[key]
        if not value:
            return head + b"=ERR2"
        self.state[key] = value
        return head + b"=OK"


class NTControl(LineEmulator):
    """Panasonic NTCONTROL on TCP 1024, older firmware: greeting ``NTCONTROL 1 <8 chars>``
    (``NTCONTROL 0`` unprotected), then one ``<md5(user:password:random)>00<command>`` line,
    one answer, and the projector hangs up: one command per connection. ``ERRA`` + close on a
    wrong hash."""

    name = "ntcontrol"
    default_idle_close = 10.0
    ANSWERS = {b"PON": b"00PON", b"POF": b"00POF", b"QPW": b"00001"}

    def greet(self, conn: Connection) -> None:
        if self.password:
            conn.nonce = self.random_hex(4)
            conn.send(f"NTCONTROL 1 {conn.nonce}\r".encode())
        else:
            conn.send(b"NTCONTROL 0\r")

    def line(self, conn: Connection, text: bytes) -> None:
        if self.password:
            digest = md5_hex(f"{self.username}:{self.password}:{conn.nonce}").encode()
            if text[:32] != digest:
                self.refuse(conn, "wrong password", text)
                conn.reply(b"ERRA", b"\r")
                conn.close()
                return
            text = text[32:]
        if not text.startswith(b"00"):
            conn.reply(b"ERR1", b"\r")
        else:
            self.command(conn, text[2:])
            conn.reply(self.ANSWERS.get(text[2:], b"ERR1"), b"\r")
        conn.close()  # answered: this firmware ends the connection


class SonyADCP(LineEmulator):
    """Sony ADCP on TCP 53595: ``NOKEY`` or a challenge, sha256(challenge + password) as hex
    answers it (``OK`` / ``ERR_AUTH`` and close); commands and replies end with CRLF."""

    name = "sony-adcp"

    def greet(self, conn: Connection) -> None:
        if self.password:
            conn.nonce = self.random_hex(4)
            conn.send(conn.nonce.encode() + b"\r\n")
        else:
            conn.stage = "ready"
            conn.send(b"NOKEY\r\n")

    def line(self, conn: Connection, text: bytes) -> None:
        if conn.stage != "ready":
            expected = hashlib.sha256((conn.nonce + self.password).encode()).hexdigest()
            if text.decode(errors="replace").lower() == expected:
                conn.stage = "ready"
                conn.reply(b"OK")
            else:
                self.refuse(conn, "wrong password", text)
                conn.reply(b"ERR_AUTH")
                conn.close()
            return
        self.command(conn, text)
        if text == b"power_status ?":
            conn.reply(b'"on"')
        elif text.startswith(b"power "):
            conn.reply(b"ok")
        else:
            conn.reply(b"err_cmd")


class EpsonEscVP(TcpEmulator):
    """Epson ESC/VP.net on TCP 3629: the client's 16-byte ``ESC/VP.net`` header first (answered
    with a header whose status byte is 0x20 OK), then ESC/VP21 commands ending with CR, each
    answered with its reply (if any) and a ``:`` prompt."""

    name = "epson-escvp"
    HEADER = b"ESC/VP.net\x10\x03\x00\x00\x00\x00"
    OK_HEADER = b"ESC/VP.net\x10\x03\x00\x00\x20\x00"

    def handle(self, conn: Connection) -> None:
        if conn.stage == "start":
            if len(conn.buffer) < len(self.HEADER):
                if not self.HEADER.startswith(bytes(conn.buffer)):
                    self._refuse_header(conn)
                return
            if conn.buffer[:len(self.HEADER)] != self.HEADER:
                self._refuse_header(conn)
                return
            del conn.buffer[:len(self.HEADER)]
            conn.stage = "ready"
            conn.send(self.OK_HEADER)
        while not conn.closed and (text := conn.take_until(b"\r")) is not None:
            text = text.strip(b"\n")
            if not text:
                continue
            self.command(conn, text)
            if text == b"PWR?":
                conn.reply(b"PWR=01", b"\r")
            elif text.startswith(b"PWR ") or text.startswith(b"SOURCE "):
                pass  # a set command is answered by the prompt alone
            else:
                conn.reply(b"ERR", b"\r")
            conn.send(b":")

    def _refuse_header(self, conn: Connection) -> None:
        self.refuse(conn, "no ESC/VP.net header", bytes(conn.buffer))
        conn.close()


class Christie(TcpEmulator):
    """Christie serial-over-TCP on 3002: parenthesised commands with no terminator; ``(PWR1)``
    sets, ``(PWR?)`` answers ``(PWR!001 "On")``."""

    name = "christie"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.power = b"1"

    def handle(self, conn: Connection) -> None:
        while not conn.closed:
            start = conn.buffer.find(b"(")
            if start < 0:
                conn.buffer.clear()  # whitespace or noise between commands
                return
            del conn.buffer[:start]
            text = conn.take_until(b")")
            if text is None:
                return
            text = text[1:]
            self.command(conn, text)
            if text == b"PWR?":
                word = b'"On"' if self.power == b"1" else b'"Off"'
                conn.reply(b"(PWR!00" + self.power + b" " + word + b")", b"")
            elif text in (b"PWR0", b"PWR1"):
                self.power = text[3:]
            else:
                conn.reply(b"(" + text[:3] + b"!ERR)", b"")
