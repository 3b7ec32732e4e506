"""The listener's end of one device actor's command channel.

ZeroMQ drops whatever it had already handed to a connection that breaks (an actor killed with
``kill -9``), and for a moment after the break it still accepts sends into the dying pipe. So
the listener keeps every command until the actor acks it. When the connection breaks it stops
sending; when a new connection has finished its handshake it sends the unacked commands again,
oldest first, then the rest. ``IMMEDIATE`` keeps ZeroMQ from queueing for a missing actor, so
this outbox is the only queue and a resend can never overtake a newer command. The actor
discards a resent command it already had (same sender, same seq).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

from oscar import zmqutil
from oscar.messages import Ack, Command

log = logging.getLogger(__name__)
OUTBOX_LIMIT = 1000  # commands held for an actor that is not taking them; more are refused


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
        self.on_expired = on_expired
        self.resent = 0

    def submit(self, command: Command) -> None:
        if len(self.outbox) + len(self.unacked) >= OUTBOX_LIMIT:
            raise OutboxFull(f"{OUTBOX_LIMIT} commands already waiting for {self.name!r}, "
                             "whose actor is not taking them")
        self.outbox.append(command)
        self.flush()

    def flush(self) -> None:
        while self.outbox and not self.broken:
            if not zmqutil.send(self.sock, self.outbox[0]):
                return  # actor not connected (or busy): keep it here, try again soon
            command = self.outbox.popleft()
            self.unacked[command.seq] = command

    def on_readable(self) -> None:
        """Acks from the actor."""
        for message in zmqutil.drain(self.sock):
            if isinstance(message, Ack):
                for seq in message.seqs:
                    self.unacked.pop(seq, None)

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
            self.on_expired(self.outbox.popleft(), f"expired waiting for the actor (TTL {ttl:g}s)")
        for seq in [s for s, c in self.unacked.items() if now - c.received_at > ttl]:
            # The actor has it and will send or drop it; we only stop holding it for resend.
            del self.unacked[seq]

    @property
    def waiting(self) -> int:
        return len(self.outbox)

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(linger=0)
        self.sock.close(linger=0)
