"""When the next command may be written to a device: ``min_gap`` after the previous one
started, and with ``wait_for_reply`` not before a reply line came (or the reply wait passed).

A gate, not a sleep: the actor asks ``open_at()`` and keeps polling its sockets until then.
"""

from __future__ import annotations

DEFAULT_REPLY_WAIT = 2.0  # wait_for_reply without a reply_timeout


class Pacing:
    def __init__(self) -> None:
        self.min_gap = 0.0
        self.wait_for_reply = False
        self.active = False  # either is set: the gate is worth asking
        self.reply_wait = DEFAULT_REPLY_WAIT
        self._last_write = float("-inf")
        self._awaiting_until = 0.0

    def configure(self, min_gap: float, wait_for_reply: bool, reply_timeout: float) -> None:
        self.min_gap = min_gap
        self.wait_for_reply = wait_for_reply
        self.active = bool(min_gap > 0 or wait_for_reply)
        self.reply_wait = reply_timeout if reply_timeout > 0 else DEFAULT_REPLY_WAIT

    def wrote(self, now: float) -> None:
        """A command started on the wire."""
        self._last_write = now
        if self.wait_for_reply:
            self._awaiting_until = now + self.reply_wait

    def reply_line(self) -> None:
        self._awaiting_until = 0.0

    def connection_gone(self) -> None:
        """The connection the reply would have come on is closed: do not wait for it."""
        self._awaiting_until = 0.0

    def open_at(self) -> float:
        """The time from which the next command may start (in the past when it may now)."""
        return max(self._last_write + self.min_gap, self._awaiting_until)

    def is_open(self, now: float) -> bool:
        return now >= self.open_at()
