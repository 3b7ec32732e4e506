"""Commands arriving at an actor from listeners: resent duplicates recognised, acks collected.

The listener keeps every command until it is acked and resends the unacked ones on a new
connection (docs/protocol.md), so an actor may receive a command twice: it remembers the last
DEDUP_WINDOW (listener, seq) pairs and acks a duplicate without sending it again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

from oscar.command_queue import Pending
from oscar.messages import Command

DEDUP_WINDOW = 20_000  # recent (sender, seq) pairs remembered to discard resent duplicates
# At most one ack message per this many seconds: the first after a quiet spell goes at once
# (few duplicates after a kill -9 at show rates), a burst is acked in bulk.
ACK_EVERY = 0.005


class Intake:
    def __init__(self, window: int = DEDUP_WINDOW):
        self.window = window
        self.acks: dict[bytes, list[int]] = {}
        self._seen: set[tuple[bytes, int]] = set()
        self._order: deque[tuple[bytes, int]] = deque()

    def fresh(self, commands: Iterable[Command], peer: bytes) -> list[Pending]:
        """Pending items for ``commands`` (one listener's batch, in order) but those already
        received, which are acked at once and never sent twice. Seq 0 is never a duplicate."""
        seen, order = self._seen, self._order
        out = []
        for command in commands:
            item = Pending(command, peer)
            seq = command.seq
            if seq:
                key = (peer, seq)
                if key in seen:
                    self.ack(item)
                    continue
                seen.add(key)
                order.append(key)
            out.append(item)
        while len(order) > self.window:
            seen.discard(order.popleft())
        return out

    def ack(self, item: Pending) -> None:
        """The listener may forget ``item``: written whole or dropped (once, even if written
        again on a later connection)."""
        if item.acked:
            return
        item.acked = True
        self.acks.setdefault(item.peer, []).append(item.command.seq)

    def ack_all(self, items: Iterable[Pending]) -> None:
        """ack() for each of ``items`` (in a row, most often from one listener)."""
        acks, peer, seqs = self.acks, None, []
        for item in items:
            if not item.acked:
                item.acked = True
                if item.peer != peer:
                    peer = item.peer
                    seqs = acks.setdefault(peer, [])
                seqs.append(item.command.seq)

    def take_acks(self) -> dict[bytes, list[int]]:
        acks, self.acks = self.acks, {}
        return acks


class AckPacer:
    """When to send the collected acks: at once after a quiet spell, then at most every
    ACK_EVERY seconds, so a stream of cues costs one ack message per interval, not per cue."""

    def __init__(self, every: float = ACK_EVERY, clock=time.monotonic):
        self.every = every
        self.clock = clock
        self._next = 0.0

    def wait(self) -> float:
        """Seconds until acks waiting now may go."""
        return max(0.0, self._next - self.clock())

    def due(self) -> bool:
        """True (and the interval starts) when acks may go now."""
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.every
        return True
