"""A plain line device (answers every line, hangs up after 2 s of silence) for the generic
profile, keep-alive, dead-link and pacing tests."""

from __future__ import annotations

from tests.emulators.base import Connection, LineEmulator


class LineDevice(LineEmulator):
    """Lines end with CR, LF or CRLF; each is a command answered with ``answer`` (``None``: no
    answer). Like a Q-SYS core, it closes a connection that has been silent for ``idle_close``
    seconds (2 by default)."""

    name = "line"
    default_idle_close = 2.0

    def __init__(self, *args, answer: bytes | None = b"OK", **kwargs):
        super().__init__(*args, **kwargs)
        self.answer = answer

    def line(self, conn: Connection, text: bytes) -> None:
        self.command(conn, text)
        if self.answer is not None:
            conn.reply(self.answer, b"\r")
