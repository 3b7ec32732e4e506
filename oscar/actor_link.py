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
(a ``CommandBatch``), not one per cue.
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
# Commands held for an actor that is not taking them; more are refused. An actor restart takes
# about a second: at 1000 cues/s a 1000-command outbox could overflow during one.
OUTBOX_LIMIT = 10_000
OUTBOX_BYTES = 16 * 1024 * 1024  # and at most this much data: 64 KiB cues must not bloat us
# One batch stays well under the actor's MAXMSGSIZE (256 KiB) even with 64 KiB commands.
BATCH_BYTES = 128 * 1024
BATCH_COMMANDS = 256


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
        self.outbox: deque[Command] = deque()
        self.unacked: OrderedDict[int, Command] = OrderedDict()
        self.held = 0  # bytes of data in outbox and unacked
        self.on_expired = on_expired
        self.resent = 0

    def submit(self, command: Command) -> None:
        if not self.outbox and not self.unacked:
            self.held = 0
        if (len(self.outbox) + len(self.unacked) >= OUTBOX_LIMIT
                or self.held + len(command.data) > OUTBOX_BYTES):
            raise OutboxFull(f"{len(self.outbox) + len(self.unacked)} commands "
                             f"({self.held} bytes) already waiting for {self.name!r}, "
                             "whose actor is not taking them")
        self.held += len(command.data)
        self.outbox.append(command)  # sent by flush(), at the end of the loop turn

    def flush(self) -> None:
        outbox = self.outbox
        while outbox and not self.broken:
            batch: list[Command] = []
            size = 0
            for command in outbox:
                size += len(command.data)
                if batch and (size > BATCH_BYTES or len(batch) >= BATCH_COMMANDS):
                    break
                batch.append(command)
            if not zmqutil.send(self.sock, CommandBatch(self.name, batch)):
                return  # actor not connected (or busy): keep them here, try again soon
            unacked = self.unacked
            for command in batch:
                outbox.popleft()
                unacked[command.seq] = command

    def on_readable(self) -> None:
        """Acks from the actor."""
        for message in zmqutil.drain(self.sock):
            if isinstance(message, Ack):
                for seq in message.seqs:
                    command = self.unacked.pop(seq, None)
                    if command is not None:
                        self.held -= len(command.data)

    def on_monitor(self) -> None:
        while self.monitor.poll(0):
            event = recv_monitor_message(self.monitor)
            log.debug("actor %s link event %s", self.name, event)
            if event["event"] == zmq.EVENT_DISCONNECTED:
                self.on_readable()  # acks that arrived before the break still count
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
            self.held -= len(command.data)
            self.on_expired(command, f"expired waiting for the actor (TTL {ttl:g}s)")
        # The actor has these and will send or drop them; we only stop holding them for a
        # resend. Oldest first (received_at nearly ascends), so this costs O(expired).
        unacked = self.unacked
        while unacked:
            seq, command = next(iter(unacked.items()))
            if now - command.received_at <= ttl:
                break
            del unacked[seq]
            self.held -= len(command.data)

    @property
    def waiting(self) -> int:
        return len(self.outbox)

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(linger=0)
        self.sock.close(linger=0)
