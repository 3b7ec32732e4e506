"""An actor's events, batched and rate-limited: no per-cue event or log line under load.

- sent commands: one event per status interval (``flush_sent``): the command's text, or
  "N commands, last: TEXT";
- drops: one event per command for the first DROP_EVENTS_PER_SECOND in a second, then one
  "N more commands dropped within a second, last ..." event;
- reply lines: one event per line for the first REPLY_EVENTS_PER_SECOND in a second, then one
  "N more replies within a second, last: TEXT" event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from oscar.actor_text import short
from oscar.command_queue import Pending
from oscar.messages import Event, Message
from oscar.ratelimit import Window

log = logging.getLogger("oscar.actor")

DROP_EVENTS_PER_SECOND = 10  # more drops within a second become one summary event
REPLY_EVENTS_PER_SECOND = 50  # per device; more become one summary event


class Reports:
    def __init__(self, name: str, emit: Callable[[Message], None], clock: Callable[[], float]):
        self.name = name
        self.emit = emit
        self.clock = clock
        self._sent_batch = 0
        self._sent_last: Pending | None = None
        self._drops = Window(DROP_EVENTS_PER_SECOND)
        self._drop_last: tuple[Pending, str] | None = None
        self._replies = Window(REPLY_EVENTS_PER_SECOND)
        self._reply_last: tuple[bytes, str] = (b"", "")

    # ---- sent ---------------------------------------------------------------------------------

    def sent(self, item: Pending, count: int = 1) -> None:
        """``count`` commands were sent, ``item`` the last of them."""
        self._sent_batch += count
        self._sent_last = item

    def flush_sent(self) -> str | None:
        """Emit the batch of sent commands; return the last one's text (None if none)."""
        if not self._sent_batch or self._sent_last is None:
            return None
        command = self._sent_last.command
        text = short(command.data)
        if self._sent_batch == 1:
            detail = text
            log.info("%s: sent %r", self.name, text)
        else:
            detail = f"{self._sent_batch} commands, last: {text}"
            log.info("%s: sent %d commands, last %r", self.name, self._sent_batch, text)
        self.emit(Event("device", "sent", detail, device=self.name, sender=command.sender))
        self._sent_batch = 0
        self._sent_last = None
        return text

    # ---- dropped ------------------------------------------------------------------------------

    def dropped(self, item: Pending, reason: str) -> None:
        show, ended = self._drops.admit(self.clock())
        if ended:
            self._summarise_drops(ended)
        if not show:
            self._drop_last = (item, reason)
            return
        command = item.command
        text = short(command.data)
        log.warning("%s: dropped %r from %s: %s", self.name, text, command.sender or "?", reason)
        self.emit(Event("device", "dropped", f"'{text}': {reason}", device=self.name,
                        sender=command.sender))

    def _summarise_drops(self, hidden: int) -> None:
        if self._drop_last is None:
            return
        item, reason = self._drop_last
        detail = (f"{hidden} more commands dropped within a second, last "
                  f"'{short(item.command.data)}': {reason}")
        log.warning("%s: %s", self.name, detail)
        self.emit(Event("device", "dropped", detail, device=self.name,
                        sender=item.command.sender))
        self._drop_last = None

    # ---- replies ------------------------------------------------------------------------------

    def reply(self, line: bytes, sender: str) -> None:
        """One reply line; ``sender`` sent the latest command. Made into text only when
        shown: a flood of lines costs a count each."""
        show, ended = self._replies.admit(self.clock())
        if ended:
            self._summarise_replies(ended)
        if not show:
            self._reply_last = (line, sender)
            return
        text = short(line)
        log.debug("%s: reply %r", self.name, text)
        self.emit(Event("device", "reply", text, device=self.name, sender=sender))

    def _summarise_replies(self, hidden: int) -> None:
        line, sender = self._reply_last
        detail = f"{hidden} more replies within a second, last: {short(line)}"
        log.info("%s: %s", self.name, detail)
        self.emit(Event("device", "replies_hidden", detail, device=self.name, sender=sender))

    # ---- timers -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Report the hidden counts of windows that have ended."""
        now = self.clock()
        hidden = self._drops.take_hidden(now)
        if hidden:
            self._summarise_drops(hidden)
        hidden = self._replies.take_hidden(now)
        if hidden:
            self._summarise_replies(hidden)

    def flush(self) -> None:
        """Everything still held back (the actor is stopping)."""
        for window, summarise in ((self._drops, self._summarise_drops),
                                  (self._replies, self._summarise_replies)):
            hidden, window.hidden = window.hidden, 0
            if hidden:
                summarise(hidden)
        self.flush_sent()

    def next_due(self) -> list[float]:
        return [due for due in (self._drops.due(), self._replies.due()) if due is not None]
