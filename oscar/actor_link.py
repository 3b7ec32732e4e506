"""The listener's end of one device actor's command channel.

ZeroMQ drops whatever it had already handed to a connection that breaks (an actor killed with
``kill -9``), and for a moment after the break it still accepts sends into the dying pipe. So
the listener keeps every command until the actor acks it. When the connection breaks it stops
sending; when a new connection has finished its handshake it sends the unacked commands again,
oldest first, then the rest. ``IMMEDIATE`` keeps ZeroMQ from queueing for a missing actor, so
this outbox is the only queue and a resend can never overtake a newer command. The actor
discards a resent command it already had (same sender, same seq).

Commands go in batches: ``submit`` only queues, and the listener's loop calls ``flush`` once a
turn, after it has drained its sockets, so a burst of cues costs one ZeroMQ message per device
(a ``CommandBatch``), not one per cue. A fast stream is batched too: a send is followed by a
pause of COALESCE before the next (a lone cue, or one of a slower stream, never waits).

Acks free what the listener holds for a resend. The listener does not poll this socket (an
ack would cost a wake-up of its own at every 5 ms): it reads the waiting acks with
``read_acks`` on every loop turn while commands are unacked, and sleeps at most ACK_WAIT then.
Acks must not lie unread for long: ZeroMQ discards what is unread when the connection breaks
(``IMMEDIATE``), and a command whose ack was lost is sent again after an actor ``kill -9``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

from oscar import zmqutil
from oscar.messages import Ack, Command, CommandBatch

log = logging.getLogger(__name__)
# Commands held for an actor that is not taking them (queued and unacked); more are refused.
# An actor restart takes a fraction of a second, and an actor under a 20 000 cues/s flood falls
# behind by up to a second or two now and then: the outbox rides that out (10 000 refused cues
# in such a run). The memory stays bounded by OUTBOX_BYTES, which counts each command's data
# plus COMMAND_OVERHEAD (the Python objects around it): at most 16 MiB per device.
OUTBOX_LIMIT = 50_000
OUTBOX_BYTES = 16 * 1024 * 1024
COMMAND_OVERHEAD = 256
# One batch stays well under the actor's MAXMSGSIZE (256 KiB) even with 64 KiB commands.
BATCH_BYTES = 128 * 1024
BATCH_COMMANDS = 256
# Unacked commands beyond this: read the acks right after a send, not at the turn's end.
READ_ACKS_AT = 2000
# While commands are unacked the listener sleeps at most this long, then reads their acks.
ACK_WAIT = 0.01
# A fast stream of cues goes in batches: while cues arrive less than COALESCE apart on
# average, a send is followed by a pause of COALESCE before the next (the poll's millisecond
# makes it up to ~1 ms). At 5000 cues/s about five go in one message instead of one each,
# which halves the CPU per cue; at 1000/s, or after a quiet spell, nothing waits.
COALESCE = 0.0005
# Several fast streams at once share the machine, and each actor woken costs CPU the others
# need: with two or more fast links, each one's pause is SHARED_HOLD per fast link, up to
# SHARED_HOLD_MAX. Ten devices flooded at 5000 cues/s each then wake their actors about 500
# times a second in all (~100 cues a message), not 20 000 (~2.5): half the actors' CPU.
SHARED_HOLD = 0.002
SHARED_HOLD_MAX = 0.02
GAP_WEIGHT = 0.25  # of the newest arrival gap in the running mean
GAP_CAP = 0.01  # a gap counts at most this much: a stream after a pause is seen in ~10 cues


def shared_hold(fast: int) -> float:
    """The pause after a send for each of ``fast`` links whose streams are fast at once."""
    return COALESCE if fast < 2 else min(SHARED_HOLD * fast, SHARED_HOLD_MAX)


def _cost(command: Command) -> int:
    """What one held command counts against OUTBOX_BYTES: its data and the objects around it."""
    return len(command.data) + COMMAND_OVERHEAD


class OutboxFull(Exception):
    pass


class ActorLink:
    def __init__(self, ctx: zmq.Context, name: str, endpoint: str, identity: bytes,
                 on_expired: Callable[[Command, str], None]):
        self.name = name
        self.sock = zmqutil.socket(ctx, zmq.DEALER, IMMEDIATE=1, SNDHWM=OUTBOX_LIMIT,
                                   MAXMSGSIZE=zmqutil.MAX_ACK)
        self.sock.setsockopt(zmq.ROUTING_ID, identity)
        self.monitor = self.sock.get_monitor_socket(
            zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.broken = False  # connection lost; hold everything until a new one is up
        zmqutil.connect(self.sock, endpoint)  # CURVE client if tcp://
        self.topic = CommandBatch.topic_of(name)
        self.outbox: deque[Command] = deque()
        self.unacked: OrderedDict[int, Command] = OrderedDict()
        self.held = 0  # bytes held in outbox and unacked, COMMAND_OVERHEAD each included
        self.on_expired = on_expired
        self.resent = 0
        self.hold_until = 0.0  # wall clock: see COALESCE
        self.mean_gap = GAP_CAP  # running mean of the gaps between cues' arrivals
        self._last_at = 0.0

    def submit(self, command: Command) -> None:
        outbox, unacked = self.outbox, self.unacked
        # Nothing held: start the byte count afresh (it cannot drift over a long show).
        cost = _cost(command)
        held = (self.held if outbox or unacked else 0) + cost
        if held > OUTBOX_BYTES or len(outbox) + len(unacked) >= OUTBOX_LIMIT:
            raise OutboxFull(f"{len(outbox) + len(unacked)} commands "
                             f"({held - cost} bytes) already waiting for "
                             f"{self.name!r}, whose actor is not taking them")
        self.held = held
        outbox.append(command)  # sent by flush(), at the end of the loop turn
        at = command.received_at
        gap = at - self._last_at  # comparisons, not min() and abs(): this runs once per cue
        if gap < 0:
            gap = -gap
        self.mean_gap += ((gap if gap < GAP_CAP else GAP_CAP) - self.mean_gap) * GAP_WEIGHT
        self._last_at = at

    @property
    def fast(self) -> bool:
        """Its cues arrive less than COALESCE apart on average: a send is followed by a pause."""
        return self.mean_gap < COALESCE

    def flush(self, now: float | None = None, hold: float = COALESCE) -> None:
        """Send what the outbox holds, in batches; with ``now`` (the loop's turn), not before
        ``hold_until``, and in a fast stream the next send is held for ``hold`` (see
        shared_hold)."""
        outbox = self.outbox
        if now is not None and outbox and not self.broken:  # a send now: the pause starts
            if now < self.hold_until:
                return
            if self.fast:
                self.hold_until = now + hold
        while outbox and not self.broken:
            batch: list[Command] = []
            size = 0
            for command in outbox:
                size += len(command.data)
                if batch and (size > BATCH_BYTES or len(batch) >= BATCH_COMMANDS):
                    break
                batch.append(command)
            try:
                zmqutil.send_frames(self.sock, CommandBatch.frames(self.topic, self.name, batch))
            except zmq.Again:
                return  # actor not connected (or busy): keep them here, try again soon
            unacked = self.unacked
            for command in batch:
                outbox.popleft()
                unacked[command.seq] = command
        if len(self.unacked) > READ_ACKS_AT:
            self.read_acks()

    def read_acks(self) -> None:
        """The acks the actor sent since the last call."""
        unacked = self.unacked
        for message in zmqutil.drain(self.sock, limit=10_000):
            if isinstance(message, Ack):
                freed = 0
                for seq in message.seqs:
                    command = unacked.pop(seq, None)
                    if command is not None:
                        freed += _cost(command)
                self.held -= freed

    def on_monitor(self) -> None:
        """The connection's events waiting, in order (zmqutil.readable, not Socket.poll,
        which builds a Poller per call: idle links are checked every second)."""
        while zmqutil.readable(self.monitor):
            event = recv_monitor_message(self.monitor)
            log.debug("actor %s link event %s", self.name, event)
            if event["event"] == zmq.EVENT_DISCONNECTED:
                self.read_acks()  # acks that arrived before the break still count
                self.broken = True
            elif event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED and self.broken:
                self._requeue()
                self.broken = False
                self.flush()

    def _requeue(self) -> None:
        if self.unacked:
            log.warning("connection to actor %s broke with %d commands unacknowledged; "
                        "sending them again when it is back", self.name, len(self.unacked))
            self.resent += len(self.unacked)
            self.outbox.extendleft(reversed(self.unacked.values()))
            self.unacked.clear()

    def expire(self, now: float, ttl: float) -> None:
        """Drop (and report) what waited here past the device's TTL: it must not fire late."""
        while self.outbox and now - self.outbox[0].received_at > ttl:
            command = self.outbox.popleft()
            self.held -= _cost(command)
            self.on_expired(command, f"expired waiting for the actor (TTL {ttl:g}s)")
        # The actor has these and will send or drop them; we only stop holding them for a
        # resend. Oldest first (received_at nearly ascends), so this costs O(expired).
        unacked = self.unacked
        while unacked:
            seq, command = next(iter(unacked.items()))
            if now - command.received_at <= ttl:
                break
            del unacked[seq]
            self.held -= _cost(command)

    @property
    def waiting(self) -> int:
        return len(self.outbox)

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(linger=0)
        self.sock.close(linger=0)
