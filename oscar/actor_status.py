"""What an actor tells the registry about itself: its state, counters and last error, command
and reply, as an ``ActorStatus`` on every state change, batched to one per STATUS_COALESCE for
counter changes, and as a heartbeat with the registry's beacon (about every HEARTBEAT). A heartbeat
while nothing changed is a small ``ActorAlive`` (the registry keeps the last full status); a
registry run that has not had a full status from this actor gets one."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from oscar import states
from oscar.messages import ActorAlive, ActorStatus, Event, Message

log = logging.getLogger("oscar.actor")

HEARTBEAT = 5.0  # a heartbeat this often
# The heartbeat rides on the registry's config beacon (sent every 0.98 HEARTBEAT; it wakes every
# actor anyway): an idle actor wakes once per beacon, and the registry gets every actor's
# heartbeat in one burst instead of one wake-up each. A report this recent skips the beacon.
BEACON_GAP = 1.0
# Without beacons (the registry away, one lost) the heartbeat goes on its own timer, a little
# later than the next beacon comes (the registry sends one every 4.9 s), so that timer does
# not wake an actor just before it. The registry counts an actor stale after 15 s of
# silence: two of these periods, one heartbeat lost, stay under it.
HEARTBEAT_ALONE = 1.2 * HEARTBEAT
# A full status at least every this many heartbeats even when nothing changed: a status the
# registry lost (its queue full) is not kept fresh for long.
ALIVES_BETWEEN_FULL = 5
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
        self._reported_at = float("-inf")  # no report yet
        self._changed = True  # since the last full status
        self._alives = 0  # heartbeats sent as ActorAlive since the last full status
        self._registry_run = 0.0  # of the last beacon (0: unknown)
        self._full_to_run = -1.0  # the registry run of the last beacon before a full status

    def count(self, key: str, amount: int = 1) -> None:
        self.counters[key] += amount
        self.soon()

    def note(self, key: str, text: str) -> None:
        """The last error, command or reply, now."""
        self.last[key] = (text, self.clock())
        self.soon()

    def soon(self) -> None:
        self._changed = True
        if not self.status_due:
            self.status_due = self.clock() + STATUS_COALESCE

    def set_state(self, state: str, detail: str, routine: bool = False) -> None:
        """A new state: an activity event (unless ``routine``: a connection opened or closed
        by design) and a status at once."""
        if state == self.state:
            return
        self.state = state
        self.since = self.clock()
        self._changed = True
        if routine:
            log.debug("%s: %s (%s)", self.name, state, detail)
        else:
            log.info("%s: %s (%s)", self.name, state, detail)
            self.emit(Event("device", "state", f"{state}: {detail}", device=self.name))
        self.report()

    def report(self) -> None:
        """A full status; or, as a heartbeat while nothing changed since the last full status
        this registry run has, an ActorAlive."""
        if (self._changed or self._alives >= ALIVES_BETWEEN_FULL or not self._registry_run
                or self._registry_run != self._full_to_run):
            self.emit(self.status())
            self._changed, self._alives = False, 0
            self._full_to_run = self._registry_run
        else:
            self.emit(ActorAlive(self.name, os.getpid()))
            self._alives += 1
        self.status_due = 0.0
        self._reported_at = now = self.clock()
        self._heartbeat_due = now + HEARTBEAT_ALONE

    def beacon(self, registry_run: float = 0.0) -> None:
        """The registry's beacon arrived: the heartbeat goes with this wake-up (tick reports
        it), unless a report left less than BEACON_GAP ago. ``registry_run``: the beacon's."""
        self._registry_run = registry_run
        now = self.clock()
        if now - self._reported_at >= BEACON_GAP:
            self._heartbeat_due = now

    def report_due(self) -> bool:
        now = self.clock()
        return now >= self._heartbeat_due or bool(self.status_due and now >= self.status_due)

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
