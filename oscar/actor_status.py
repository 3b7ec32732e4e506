"""What an actor tells the registry about itself: its state, counters and last error, command
and reply, as an ``ActorStatus`` on every state change, batched to one per STATUS_COALESCE for
counter changes, and at least every HEARTBEAT so a restarted registry catches up."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from oscar import states
from oscar.messages import ActorStatus, Event, Message

log = logging.getLogger("oscar.actor")

HEARTBEAT = 5.0  # full status at least this often, so a restarted registry catches up
# A heartbeat this close to due goes with any wake-up (the registry's config beacon, sent
# every HEARTBEAT too, wakes every actor anyway), so an idle actor wakes once per beacon, not
# twice. The registry counts an actor stale after three missed heartbeats.
HEARTBEAT_EARLY = 1.0
STATUS_COALESCE = 0.2  # counter changes are batched into one status per this interval
COUNTERS = ("accepted", "sent", "dropped", "replies", "reply_bytes", "connects")


class StatusBoard:
    def __init__(self, name: str, emit: Callable[[Message], None], clock: Callable[[], float]):
        self.name = name
        self.emit = emit
        self.clock = clock
        self.state = states.CONNECTING
        self.since = clock()
        self.peer = ""
        self.retry_at = 0.0
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.last = {"error": ("", 0.0), "command": ("", 0.0), "reply": ("", 0.0)}
        self.queued: Callable[[], int] = lambda: 0
        self.in_flight: Callable[[], int] = lambda: 0
        self.status_due = 0.0
        self._heartbeat_due = 0.0

    def count(self, key: str, amount: int = 1) -> None:
        self.counters[key] += amount
        self.soon()

    def note(self, key: str, text: str) -> None:
        """The last error, command or reply, now."""
        self.last[key] = (text, self.clock())
        self.soon()

    def soon(self) -> None:
        if not self.status_due:
            self.status_due = self.clock() + STATUS_COALESCE

    def set_state(self, state: str, detail: str, routine: bool = False) -> None:
        """A new state: an activity event (unless ``routine``: a connection opened or closed
        by design) and a status at once."""
        if state == self.state:
            return
        self.state = state
        self.since = self.clock()
        if routine:
            log.debug("%s: %s (%s)", self.name, state, detail)
        else:
            log.info("%s: %s (%s)", self.name, state, detail)
            self.emit(Event("device", "state", f"{state}: {detail}", device=self.name))
        self.report()

    def report(self) -> None:
        self.emit(self.status())
        self.status_due = 0.0
        self._heartbeat_due = self.clock() + HEARTBEAT

    def report_due(self) -> bool:
        now = self.clock()
        return (now >= self._heartbeat_due - HEARTBEAT_EARLY
                or bool(self.status_due and now >= self.status_due))

    def next_due(self) -> list[float]:
        return [self._heartbeat_due] + ([self.status_due] if self.status_due else [])

    def status(self) -> ActorStatus:
        last = self.last
        return ActorStatus(
            device=self.name, state=self.state, since=self.since, pid=os.getpid(),
            peer=self.peer, queued=self.queued(), in_flight=self.in_flight(),
            last_error=last["error"][0], last_error_at=last["error"][1],
            last_command=last["command"][0], last_command_at=last["command"][1],
            last_reply=last["reply"][0], last_reply_at=last["reply"][1],
            next_retry_at=self.retry_at if self.state in states.RETRYING else 0.0,
            **self.counters,
        )
