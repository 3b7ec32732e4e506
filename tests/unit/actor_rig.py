"""An Actor wired to real sockets on 127.0.0.1 with a fake clock: the test plays the device.

``Rig.pump`` turns the actor's loop the way processes/device_actor.py does (select on its
socket, the handlers, ``tick``) until a condition holds; time moves only when the test moves
``rig.clock.now``, so timers fire exactly when the test says.
"""

from __future__ import annotations

import itertools
import random
import select
import socket

from oscar import states
from oscar.actor import Actor
from oscar.backoff import Backoff
from oscar.messages import ActorStatus, Command, Event
from oscar.models import Device

SEQ = itertools.count(1)


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Peer:
    """One accepted connection, seen from the device's side."""

    def __init__(self, sock: socket.socket, rig: Rig):
        self.sock = sock
        self.sock.setblocking(False)
        self.rig = rig
        self.received = bytearray()
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self) -> None:
        if self.closed:
            return
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except ConnectionResetError:
            self.closed = True
            return
        if not data:
            self.closed = True
        self.received += data

    def wait_for(self, data: bytes) -> bytes:
        """Pump the actor until the device has received ``data`` (all it received so far
        ends with it, or contains it); returns everything received."""
        self.rig.pump(lambda: self._read() or data in self.received,
                      message=f"device to receive {data!r}, got {bytes(self.received)!r}")
        return bytes(self.received)

    def wait_closed(self) -> bytes:
        self.rig.pump(lambda: self._read() or self.closed, message="actor to close")
        return bytes(self.received)

    def close(self) -> None:
        self.sock.close()
        self.closed = True


class Rig:
    def __init__(self, clock: Clock | None = None, udp: bool = False, **fields):
        self.clock = clock or Clock()
        self.emitted: list = []
        self.udp = udp
        if udp:
            self.server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.server.bind(("127.0.0.1", 0))
            self.server.settimeout(2)
        else:
            self.server = socket.create_server(("127.0.0.1", 0))
            self.server.settimeout(2)
        self.port = self.server.getsockname()[1]
        self.actor = Actor("dev", emit=self.emitted.append, clock=self.clock)
        self.actor.backoff = Backoff(0.5, 8, rng=random.Random(0))
        fields.setdefault("ttl", 10.0)
        fields.setdefault("backoff_min", 0.5)
        fields.setdefault("backoff_max", 8.0)
        if udp:
            fields["transport"] = "udp"
        self.device = Device(name="dev", host="127.0.0.1", port=self.port, **fields)
        self.peers: list[Peer] = []

    def start(self) -> Rig:
        self.actor.configure(self.device)
        return self

    # ---- the actor's loop ---------------------------------------------------------------------

    def step(self, wait: float = 0.01) -> None:
        actor = self.actor
        sock = actor.sock
        if sock is not None:
            readable, writable, _ = select.select(
                [sock], [sock] if actor.wants_write() else [], [], wait)
            if writable and actor.sock is sock:
                actor.on_writable()
            if readable and actor.sock is sock:
                actor.on_readable()
        actor.tick()

    def pump(self, until, steps: int = 300, message: str = "condition") -> None:
        for _ in range(steps):
            self.step()
            if until():
                return
        raise AssertionError(f"waited in vain for {message}; state {self.actor.state}, "
                             f"last error {self.actor.status().last_error!r}")

    def settle(self, steps: int = 10) -> None:
        """A few turns of the loop with nothing expected (no time passes)."""
        for _ in range(steps):
            self.step()

    def accept(self) -> Peer:
        """The device accepts the actor's next connection."""
        for _ in range(300):
            self.step()
            try:
                self.server.settimeout(0.01)
                sock, _ = self.server.accept()
            except TimeoutError:
                continue
            peer = Peer(sock, self)
            self.peers.append(peer)
            return peer
        raise AssertionError("the actor never connected")

    def wait_state(self, state: str) -> None:
        self.pump(lambda: self.actor.state == state, message=f"state {state}")

    def ready(self) -> Peer:
        """Start, let the device accept the connection, wait until the actor is READY (no
        login); returns the device's side."""
        device = self.start().accept()
        self.wait_state(states.READY)
        return device

    # ---- cues and what came of them -------------------------------------------------------

    def cue(self, text: str, sender: str = "10.0.0.5:53000", age: float = 0.0) -> Command:
        command = Command(device="dev", data=text.encode(), received_at=self.clock.now - age,
                          sender=sender, seq=next(SEQ))
        self.actor.handle_command(command, b"listener")
        return command

    def events(self, kind: str | None = None) -> list[Event]:
        return [m for m in self.emitted if isinstance(m, Event)
                and (kind is None or m.event == kind)]

    def counts(self) -> dict[str, int]:
        status = self.actor.status()
        assert status.accepted == (status.sent + status.dropped + status.in_flight
                                   + status.queued)
        return {key: getattr(status, key) for key in ("sent", "dropped", "in_flight", "queued")}

    def statuses(self) -> list[ActorStatus]:
        return [m for m in self.emitted if isinstance(m, ActorStatus)]

    def wait_sent(self, count: int) -> None:
        self.pump(lambda: self.actor.counters["sent"] >= count, message=f"{count} sent")

    def close(self) -> None:
        self.actor.shutdown()
        for peer in self.peers:
            peer.sock.close()
        self.server.close()
