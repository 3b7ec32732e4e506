"""Router, switcher and media-server emulators, each written from /work/shared/devices.md."""

from __future__ import annotations

import re

from tests.emulators.base import Connection, LineEmulator, TcpEmulator

TIE = re.compile(rb"(\d+)\*(\d+)[!&%$]")


class ExtronSIS(TcpEmulator):
    """Extron SIS on TCP 23: a copyright banner, then (if protected) ``Password:``; the right
    password + CR gives ``Login Administrator``, a wrong one repeats the prompt. Commands need no
    terminator (``1*2!`` ties input 1 to output 2, ``Q`` answers the firmware version), ``ESC``
    commands end with CR; replies end with CRLF. An idle connection is closed after 5 min."""

    name = "extron-sis"
    default_idle_close = 300.0
    BANNER = (b"(c) Copyright 2026, Extron Electronics, IN1608, V1.04, 60-1468-01\r\n"
              b"Thu, 26 Nov 2026 10:00:00\r\n")
    FIRMWARE = b"1.04"

    def greet(self, conn: Connection) -> None:
        conn.send(self.BANNER)
        if self.password:
            conn.send(b"\r\nPassword:")
        else:
            conn.stage = "ready"

    def handle(self, conn: Connection) -> None:
        while not conn.closed and conn.stage != "ready":
            attempt = conn.take_until(b"\r")
            if attempt is None:
                return
            attempt = attempt.strip(b"\n")
            if attempt.decode(errors="replace") == self.password:
                conn.stage = "ready"
                conn.reply(b"Login Administrator", b"\r\n")
            else:
                self.refuse(conn, "wrong password", attempt)
                conn.send(b"\r\nPassword:")
        while not conn.closed and conn.buffer:
            if not self._one_command(conn):
                return

    def _one_command(self, conn: Connection) -> bool:
        """Take one command from the buffer and answer it; False if it is not complete yet."""
        first = conn.buffer[:1]
        if first in (b"\r", b"\n", b" "):
            del conn.buffer[:1]
            return True
        if first == b"\x1b":
            text = conn.take_until(b"\r")
            if text is None:
                return False
            self.command(conn, text)
            conn.reply(b"Vrb" + text[1:2] if text.endswith(b"CV") else b"E10")
            return True
        if first in (b"Q", b"q"):
            del conn.buffer[:1]
            self.command(conn, b"Q")
            conn.reply(self.FIRMWARE)
            return True
        match = TIE.match(bytes(conn.buffer))
        if match:
            del conn.buffer[:match.end()]
            self.command(conn, match.group(0))
            conn.reply(b"Out" + match.group(2) + b" In" + match.group(1) + b" All")
            return True
        if re.match(rb"\d+\*?\d*$", conn.buffer):
            return False  # a tie still arriving
        text = bytes(conn.buffer[:1])
        del conn.buffer[:1]
        self.refuse(conn, "invalid command", text)
        conn.reply(b"E10")
        return True


class Videohub(TcpEmulator):
    """Blackmagic Videohub on TCP 9990: no login; the whole state as blocks on connect; a blank
    line ends a block; ``VIDEO OUTPUT ROUTING:`` is ACKed then pushed back, anything else NAKed;
    ``PING:`` is ACKed."""

    name = "videohub"
    SIZE = 8

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.routing = {output: output for output in range(self.SIZE)}

    def greet(self, conn: Connection) -> None:
        labels = b"".join(b"%d Input %d\n" % (i, i + 1) for i in range(self.SIZE))
        outputs = b"".join(b"%d Output %d\n" % (i, i + 1) for i in range(self.SIZE))
        locks = b"".join(b"%d U\n" % i for i in range(self.SIZE))
        conn.send(b"PROTOCOL PREAMBLE:\nVersion: 2.3\n\n"
                  b"VIDEOHUB DEVICE:\nDevice present: true\nModel name: Smart Videohub\n"
                  b"Video inputs: 8\nVideo outputs: 8\n\n"
                  b"INPUT LABELS:\n" + labels + b"\n"
                  b"OUTPUT LABELS:\n" + outputs + b"\n"
                  b"VIDEO OUTPUT LOCKS:\n" + locks + b"\n"
                  + self._routing_block(range(self.SIZE)) +
                  b"END PRELUDE:\n\n")

    def _routing_block(self, outputs) -> bytes:
        rows = b"".join(b"%d %d\n" % (o, self.routing[o]) for o in outputs)
        return b"VIDEO OUTPUT ROUTING:\n" + rows + b"\n"

    def handle(self, conn: Connection) -> None:
        conn.buffer[:] = conn.buffer.replace(b"\r\n", b"\n")
        while not conn.closed and (block := conn.take_until(b"\n\n")) is not None:
            block = block.lstrip(b"\n")
            if not block:
                continue
            header, _, body = block.partition(b"\n")
            self.command(conn, block)
            if header == b"PING:":
                conn.reply(b"ACK", b"\n\n")
            elif header == b"VIDEO OUTPUT ROUTING:" and self._route(body):
                conn.reply(b"ACK", b"\n\n")
                outputs = [int(row.split()[0]) for row in body.split(b"\n") if row.strip()]
                conn.reply(self._routing_block(outputs)[:-2], b"\n\n")  # the pushed update
            else:
                conn.reply(b"NAK", b"\n\n")

    def _route(self, body: bytes) -> bool:
        rows = [row.split() for row in body.split(b"\n") if row.strip()]
        try:
            pairs = [(int(output), int(source)) for output, source in rows]
        except ValueError:
            return False
        if not pairs or not all(0 <= o < self.SIZE and 0 <= s < self.SIZE for o, s in pairs):
            return False
        self.routing.update(pairs)
        return True


class Watchout(LineEmulator):
    """Dataton WATCHOUT 6 on TCP 3040: lines end with CR, LF or CRLF; ``authenticate 1`` first
    (answered ``Ready "6.8" "WATCHPOINT" ...``), anything before it gets ``error 8.1 not
    authorized``. Queries (``getStatus``) answer with ``Reply ...``; other commands are quiet."""

    name = "watchout"

    def line(self, conn: Connection, text: bytes) -> None:
        if text == b"authenticate 1":
            conn.stage = "ready"
            conn.reply(b'Ready "6.8" "WATCHPOINT" "Windows" true')
            return
        if conn.stage != "ready":
            self.refuse(conn, "not authorized", text)
            conn.reply(b"error 8.1 not authorized")
            return
        self.command(conn, text)
        if text == b"getStatus":
            conn.reply(b'Reply "Show" 0 0 true false false 0 true')
        elif text == b"ping":
            conn.reply(b"Ready")


class KramerP3000(LineEmulator):
    """Kramer Protocol 3000: ``#`` handshake answered ``~01@ OK``; ``#LOGIN <pw>`` when protected
    (commands before it get ``ERR 004``); ``#VID 1>2`` answers ``~01@VID 1>2 OK``; replies end
    with CRLF."""

    name = "kramer-p3000"

    def greet(self, conn: Connection) -> None:
        conn.stage = "locked" if self.password else "ready"

    def line(self, conn: Connection, text: bytes) -> None:
        if not text.startswith(b"#"):
            self.refuse(conn, "not a protocol 3000 command", text)
            conn.reply(b"~01@ ERR 001")
            return
        verb, _, params = text[1:].partition(b" ")
        verb = verb.upper()
        if verb == b"":
            conn.reply(b"~01@ OK")
        elif verb == b"LOGIN":
            # The manual form is "#LOGIN level,password"; devices.md has "#LOGIN password".
            if params.rsplit(b",", 1)[-1].decode(errors="replace") == self.password:
                conn.stage = "ready"
                conn.reply(b"~01@LOGIN " + params + b" OK")
            else:
                self.refuse(conn, "wrong password", params)
                conn.reply(b"~01@LOGIN ERR 004")
        elif conn.stage != "ready":
            self.refuse(conn, "not logged in", text)
            conn.reply(b"~01@" + verb + b" ERR 004")
        elif verb == b"MODEL?":
            self.command(conn, text)
            conn.reply(b"~01@MODEL VS-88UT")
        elif verb == b"VID" and re.fullmatch(rb"\d+>\d+", params):
            self.command(conn, text)
            conn.reply(b"~01@VID " + params + b" OK")
        else:
            self.command(conn, text)
            conn.reply(b"~01@" + verb + b" ERR 002")
