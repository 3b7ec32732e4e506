"""Actor without real sockets: a fake connection stands in for the kernel's TCP socket (how
many bytes it takes, how many the device has acknowledged), and a fake clock for time."""

import itertools
import random
import socket
import struct

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oscar import states
from oscar.actor import Actor, handed_over
from oscar.backoff import Backoff
from oscar.devices.login_base import Step
from oscar.messages import ActorStatus, Command, Event
from oscar.models import validate


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def emitted():
    return []


@pytest.fixture
def actor(clock, emitted):
    return Actor("proj1", emit=emitted.append, clock=clock)


SEQ = itertools.count(1)


def command(text, received_at, sender="10.0.0.5:53000"):
    """Each with its own sequence number, as the listener numbers them."""
    return Command(device="proj1", data=text.encode(), received_at=received_at, sender=sender,
                   seq=next(SEQ))


def events(emitted):
    return [(m.event, m.detail, m.device, m.sender) for m in emitted if isinstance(m, Event)]


def test_commands_before_the_config_is_known_wait_in_the_queue(actor, clock, emitted):
    actor.handle_command(command("%1POWR 1", clock.now))
    actor.handle_command(command("%1INPT 31", clock.now))
    assert len(actor.queue) == 2
    assert events(emitted) == []
    assert (actor.status().queued, actor.status().dropped) == (2, 0)


@pytest.mark.parametrize(
    ("device", "reason"),
    [
        (validate({"name": "proj1", "host": "127.0.0.1", "port": 9999, "enabled": False}),
         "device disabled"),
        (None, "device removed"),
    ],
)
def test_disabling_drops_and_reports_every_queued_command(actor, clock, emitted, device, reason):
    actor.handle_command(command("%1POWR 1", clock.now))
    actor.handle_command(command("%1INPT 31", clock.now, sender="qlab"))
    actor.configure(device)
    assert actor.state == states.DISABLED
    assert [e for e in events(emitted) if e[0] == "dropped"] == [
        ("dropped", f"'%1POWR 1': {reason}", "proj1", "10.0.0.5:53000"),
        ("dropped", f"'%1INPT 31': {reason}", "proj1", "qlab"),
    ]
    status = actor.status()
    assert (status.state, status.queued, status.dropped) == (states.DISABLED, 0, 2)


def test_disabled_actor_drops_new_commands_at_once(actor, clock, emitted):
    actor.configure(validate({"name": "proj1", "host": "127.0.0.1", "port": 9999,
                              "enabled": "off"}))
    emitted.clear()
    actor.handle_command(command("%1POWR 1", clock.now))
    assert len(actor.queue) == 0
    assert events(emitted) == [("dropped", "'%1POWR 1': device disabled", "proj1",
                                "10.0.0.5:53000")]


def test_expire_drops_only_commands_older_than_ttl(actor, clock, emitted):
    actor.handle_command(command("old", received_at=1000.0))
    actor.handle_command(command("edge", received_at=1002.0))
    actor.handle_command(command("new", received_at=1005.0))
    clock.now = 1012.0  # default TTL 10s while the config is not known
    actor.expire()
    assert events(emitted) == [
        ("dropped", "'old': expired while waiting: 12.0s old, TTL 10s", "proj1",
         "10.0.0.5:53000"),
    ]
    assert [p.command.data for p in (actor.queue.pop(), actor.queue.pop())] == [b"edge", b"new"]


def test_nothing_expires_within_ttl(actor, clock, emitted):
    actor.handle_command(command("fresh", received_at=clock.now))
    clock.now += 9.9
    actor.expire()
    assert (events(emitted), len(actor.queue)) == ([], 1)


def test_status_reports_the_counters(actor, clock, emitted):
    actor.handle_command(command("old", received_at=clock.now - 60))
    actor.expire()
    status = actor.status()
    assert isinstance(status, ActorStatus)
    assert (status.device, status.dropped, status.sent, status.queued) == ("proj1", 1, 0, 0)


# ---- to the wire: a fake connection ------------------------------------------------------------


class FakeConnection:
    """What the actor sees of a connected TCP socket: the kernel takes bytes while fewer than
    ``capacity`` are unacknowledged; the device acknowledges them when the test says so."""

    def __init__(self, capacity=1 << 20):
        self.capacity = capacity
        self.stream = bytearray()
        self.acked = 0
        self.closed = False
        self.reset = False
        self.error = None  # an OSError to raise on send
        self.inbox = []  # what the device sends, chunk by chunk

    def unacked(self):
        return len(self.stream) - self.acked

    def ack(self, count=None):
        self.acked = len(self.stream) if count is None else min(len(self.stream),
                                                                 self.acked + count)

    def send(self, data):
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        if self.error:
            raise self.error
        count = min(len(data), self.capacity - self.unacked())
        if count <= 0:
            raise BlockingIOError
        self.stream += data[:count]
        return count

    def recv(self, size):
        if self.inbox:
            return self.inbox.pop(0)
        raise BlockingIOError

    def getsockopt(self, level, option):
        return 0  # SO_ERROR: connected

    def setsockopt(self, level, option, value):
        if (level, option) == (socket.SOL_SOCKET, socket.SO_LINGER):
            self.reset = struct.unpack("ii", value) == (1, 0)

    def close(self):
        self.closed = True


class Link:
    """The actor's connections, newest last."""

    def __init__(self, capacity=1 << 20):
        self.capacity = capacity
        self.connections = []

    def connect(self, host, port):
        self.connections.append(FakeConnection(self.capacity))
        return self.connections[-1]

    @property
    def current(self):
        return self.connections[-1]


def wired(clock, emitted, ttl=3.0, capacity=1 << 20):
    link = Link(capacity)
    actor = Actor("proj1", emit=emitted.append, clock=clock,
                  unacked=lambda sock: sock.unacked(), connect=link.connect)
    actor.configure(validate({"name": "proj1", "host": "127.0.0.1", "port": 9999, "ttl": ttl,
                              "backoff_min": 0.5, "backoff_max": 8}))
    actor.on_writable()  # the connect completed
    assert actor.state == states.READY
    return actor, link


def counts(actor):
    status = actor.status()
    assert status.accepted == status.sent + status.dropped + status.in_flight + status.queued
    return {key: getattr(status, key) for key in ("sent", "dropped", "in_flight", "queued")}


def acked_seqs(actor):
    return sorted(seq for seqs in actor.take_acks().values() for seq in seqs)


def test_a_written_cue_is_in_flight_until_the_device_acknowledges_it(clock, emitted):
    actor, link = wired(clock, emitted)
    cue = command("%1POWR 1", clock.now)
    actor.handle_command(cue)
    assert link.current.stream == b"%1POWR 1\r"
    # Written whole: the listener need not keep it any longer ...
    assert acked_seqs(actor) == [cue.seq]
    # ... but it is not sent until the device's TCP stack has taken it.
    actor.tick()
    assert counts(actor) == {"sent": 0, "dropped": 0, "in_flight": 1, "queued": 0}
    link.current.ack()
    actor.tick()
    assert counts(actor) == {"sent": 1, "dropped": 0, "in_flight": 0, "queued": 0}


def test_a_device_that_stops_taking_data_past_ttl_is_reset_and_its_cues_dropped(clock, emitted):
    actor, link = wired(clock, emitted, ttl=3.0, capacity=12)
    for text in ("ONE", "TWO", "THREE", "FOUR"):  # 12 bytes fit: THREE is half-written
        actor.handle_command(command(text, clock.now))
    connection = link.current
    assert connection.stream == b"ONE\rTWO\rTHRE"
    assert counts(actor) == {"sent": 0, "dropped": 0, "in_flight": 3, "queued": 1}
    clock.now += 3.0
    actor.handle_command(command("FRESH", clock.now))
    connection.ack(4)  # the device takes ONE, then stops reading
    actor.tick()  # exactly TTL old: still worth waiting for
    assert actor.state == states.READY
    assert counts(actor) == {"sent": 1, "dropped": 0, "in_flight": 2, "queued": 2}
    clock.now += 0.1
    actor.tick()
    # Reset (RST: the kernel discards the bytes), what was in flight dropped as stale, the
    # queued ones kept for the next connection within their TTL.
    assert connection.closed and connection.reset
    assert actor.state == states.WAITING
    assert counts(actor) == {"sent": 1, "dropped": 2, "in_flight": 0, "queued": 2}
    assert "stopped taking data" in actor.status().last_error
    clock.now = actor.retry_at
    actor.tick()
    actor.on_writable()
    # Next connection: FOUR is past its TTL by now, FRESH goes whole.
    drops = [e[1] for e in events(emitted) if e[0] == "dropped"]
    assert [d.split(":")[0] for d in drops] == ["'TWO'", "'THREE'", "'FOUR'"]
    assert "stale" in drops[0] and "stale" in drops[1] and "expired" in drops[2]
    assert link.current is not connection and link.current.stream == b"FRESH\r"
    assert counts(actor) == {"sent": 1, "dropped": 3, "in_flight": 1, "queued": 0}


def test_a_stale_reset_grows_the_backoff(clock, emitted):
    actor, link = wired(clock, emitted, ttl=1.0)
    delays = []
    for _ in range(3):
        clock.now += 5  # a long-stable connection would reset the backoff if merely lost
        actor.handle_command(command("X", clock.now))
        clock.now += 1.5
        actor.tick()
        assert actor.state == states.WAITING
        delays.append(actor.retry_at - clock.now)
        clock.now = actor.retry_at
        actor.tick()
        actor.on_writable()
    assert delays[0] < delays[2]


def test_a_half_written_cue_is_finished_before_the_next_starts(clock, emitted):
    actor, link = wired(clock, emitted, capacity=3)
    actor.handle_command(command("AB", clock.now))
    actor.handle_command(command("CD", clock.now))
    assert link.current.stream == b"AB\r"
    link.current.ack(2)
    actor.on_writable()
    assert link.current.stream == b"AB\rCD"  # CD may start: AB is whole
    assert actor.wants_write()
    link.current.ack()
    actor.on_writable()
    assert link.current.stream == b"AB\rCD\r" and not actor.wants_write()


def test_a_lost_connection_sends_what_the_device_had_not_taken_again_whole(clock, emitted):
    actor, link = wired(clock, emitted, capacity=8)
    for text in ("ONE", "TWO", "THREE"):
        actor.handle_command(command(text, clock.now))
    first = link.current
    first.ack(4)
    first.error = ConnectionResetError(104, "Connection reset by peer")
    actor.on_writable()  # the send fails
    assert actor.state == states.WAITING and first.reset
    assert counts(actor) == {"sent": 1, "dropped": 0, "in_flight": 0, "queued": 2}
    clock.now = actor.retry_at
    actor.tick()
    actor.on_writable()
    assert link.current.stream == b"TWO\rTHRE"
    link.current.ack()
    actor.on_writable()
    link.current.ack()
    actor.tick()
    assert link.current.stream == b"TWO\rTHREE\r"
    assert counts(actor) == {"sent": 3, "dropped": 0, "in_flight": 0, "queued": 0}


def test_sent_cues_are_reported_in_one_event_per_status_interval(clock, emitted):
    actor, link = wired(clock, emitted)
    emitted.clear()
    for number in range(50):
        actor.handle_command(command(f"GO {number}", clock.now, sender="qlab"))
    link.current.ack()
    actor.tick()
    clock.now += 1
    actor.tick()
    assert [e for e in events(emitted) if e[0] == "sent"] == [
        ("sent", "50 commands, last: GO 49", "proj1", "qlab")]
    assert actor.status().last_command == "GO 49"
    actor.handle_command(command("GO 50", clock.now, sender="qlab"))
    link.current.ack()
    actor.tick()
    clock.now += 1
    actor.tick()
    assert [e for e in events(emitted) if e[0] == "sent"][-1] == ("sent", "GO 50", "proj1", "qlab")


def test_a_flood_of_drops_becomes_a_summary_event_per_second(clock, emitted):
    actor = Actor("proj1", emit=emitted.append, clock=clock)
    for number in range(100):
        actor.handle_command(command(f"OLD {number}", clock.now - 60))
    actor.expire()
    assert len([e for e in events(emitted) if e[0] == "dropped"]) == 10
    clock.now += 1.0
    actor.tick()
    drops = [e for e in events(emitted) if e[0] == "dropped"]
    assert len(drops) == 11
    assert drops[-1][1].startswith("90 more commands dropped within a second, last 'OLD 99'")
    assert counts(actor) == {"sent": 0, "dropped": 100, "in_flight": 0, "queued": 0}


def test_disabling_drops_what_is_in_flight_too(clock, emitted):
    actor, link = wired(clock, emitted, capacity=4)
    actor.handle_command(command("ONE", clock.now))
    actor.handle_command(command("TWO", clock.now))
    actor.configure(validate({"name": "proj1", "host": "127.0.0.1", "port": 9999,
                              "enabled": False}))
    assert link.current.closed and link.current.reset
    assert counts(actor) == {"sent": 0, "dropped": 2, "in_flight": 0, "queued": 0}


def test_without_siocoutq_bytes_handed_to_the_kernel_count_as_taken(clock, emitted):
    """The fallback for platforms without SIOCOUTQ (macOS): the small send buffer bounds what
    can hide in our kernel; a cue the kernel would not take whole still resets after TTL."""
    link = Link(capacity=10)
    actor = Actor("proj1", emit=emitted.append, clock=clock, unacked=handed_over,
                  connect=link.connect)
    actor.configure(validate({"name": "proj1", "host": "127.0.0.1", "port": 9999, "ttl": 3}))
    actor.on_writable()
    actor.handle_command(command("ONE", clock.now))
    actor.handle_command(command("TWO", clock.now))
    actor.handle_command(command("THREE", clock.now))  # 2 of its 6 bytes fit
    actor.tick()
    assert counts(actor) == {"sent": 2, "dropped": 0, "in_flight": 1, "queued": 0}
    clock.now += 3.5
    actor.tick()
    assert link.current.reset and actor.state == states.WAITING
    assert counts(actor) == {"sent": 2, "dropped": 1, "in_flight": 0, "queued": 0}


def test_stopping_resets_and_reports_what_the_device_had_not_taken(clock, emitted):
    actor, link = wired(clock, emitted)
    actor.handle_command(command("TAKEN", clock.now))
    actor.handle_command(command("NOT TAKEN", clock.now))
    link.current.ack(6)
    actor.shutdown()
    assert link.current.closed and link.current.reset
    assert counts(actor) == {"sent": 1, "dropped": 1, "in_flight": 0, "queued": 0}
    assert [e[1] for e in events(emitted) if e[0] == "dropped"] == [
        "'NOT TAKEN': actor stopping before the device took it"]
    assert actor.state == states.STOPPED


def test_a_batch_the_kernel_takes_in_part_acks_only_the_whole_commands(clock, emitted):
    """One send() for a batch: the listener may forget the commands written whole, not the
    one cut off (an actor killed now would lose it), until its rest is written too."""
    actor, link = wired(clock, emitted, capacity=9)  # room for "ONE\rTWO\rT" and no more
    cues = [command(text, clock.now) for text in ("ONE", "TWO", "THREE", "FOUR")]
    actor.handle_commands(cues, b"listener")
    assert bytes(link.current.stream) == b"ONE\rTWO\rT"
    assert acked_seqs(actor) == sorted(c.seq for c in cues[:2])
    link.current.ack()
    link.current.capacity = 100
    actor.on_writable()
    assert bytes(link.current.stream) == b"ONE\rTWO\rTHREE\rFOUR\r"
    assert acked_seqs(actor) == sorted(c.seq for c in cues[2:])
    actor.tick()  # counts what the device took: ONE and TWO (its first 9 bytes)
    assert counts(actor) == {"sent": 2, "dropped": 0, "in_flight": 2, "queued": 0}


def test_duplicates_are_not_accepted_twice(clock, emitted):
    actor, link = wired(clock, emitted)
    cue = command("GO", clock.now)
    actor.handle_command(cue)
    actor.handle_command(cue)
    assert actor.status().accepted == 1 and link.current.stream == b"GO\r"


# ---- property: counters add up, nothing torn, nothing stale, whatever happens --------------------


class WireMachine(RuleBasedStateMachine):
    """Random sequences of cues arriving, the kernel taking bytes, the device acknowledging or
    stalling, time passing, connections lost and remade."""

    TTL = 3.0
    DEVICE = {}  # more device fields: the connection mode, keep-alive, pacing...
    KEEPALIVE = b"KA"

    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.emitted = []
        self.link = Link(capacity=16)
        self.actor = Actor("proj1", emit=self.emitted.append, clock=self.clock,
                           unacked=self._unacked, connect=self._connect)
        self.actor.backoff = Backoff(0.1, 1, rng=random.Random(0))  # replays must not differ
        self.actor.configure(validate({"name": "proj1", "host": "127.0.0.1", "port": 9999,
                                       "ttl": self.TTL, "backoff_min": 0.1, "backoff_max": 1,
                                       **self.DEVICE}))
        self.received_at = {}  # cue text -> received_at
        self.starts = []  # (cue text, clock when its first byte was written)
        self.commands = []
        self.resends = 0
        self.acks = []

    def _connect(self, host, port):
        connection = self.link.connect(host, port)
        send = connection.send

        def recording_send(data):
            before = len(connection.stream)
            count = send(data)
            if before == 0 or connection.stream[before - 1:before] == b"\r":
                # A cue starts: data is its whole wire form.
                text = data.split(b"\r")[0]
                if text != self.KEEPALIVE:
                    self.starts.append((text.decode(), self.clock.now))
            return count
        connection.send = recording_send
        return connection

    def _unacked(self, sock):
        return sock.unacked()

    def _open(self):
        return self.link.connections and not self.link.current.closed

    @rule(size=st.integers(0, 9), age=st.floats(0, 4.0))
    def cue(self, size, age):
        text = f"C{len(self.commands)}" + "x" * size
        cue = command(text, self.clock.now - age)
        self.received_at[text] = cue.received_at
        self.commands.append(cue)
        self.actor.handle_command(cue, b"listener")

    @precondition(lambda self: self.commands)
    @rule(data=st.data())
    def resend(self, data):
        self.resends += 1
        self.actor.handle_command(data.draw(st.sampled_from(self.commands)), b"listener")

    @rule(count=st.integers(2, 5), age=st.floats(0, 4.0), data=st.data())
    def batch(self, count, age, data):
        """Several cues in one listener message (a CommandBatch), resent ones among them."""
        cues = []
        for _ in range(count):
            if self.commands and data.draw(st.booleans()):
                self.resends += 1
                cues.append(data.draw(st.sampled_from(self.commands)))
                continue
            text = f"C{len(self.commands)}"
            cue = command(text, self.clock.now - age)
            self.received_at[text] = cue.received_at
            self.commands.append(cue)
            cues.append(cue)
        self.actor.handle_commands(cues, b"listener")

    @precondition(lambda self: self._open())
    @rule(count=st.integers(1, 20))
    def device_takes(self, count):
        self.link.current.ack(count)

    @precondition(lambda self: self._open())
    @rule()
    def writable(self):
        self.actor.on_writable()

    @rule(seconds=st.sampled_from([0.05, 0.1, 0.5, 1.0, 2.0]))
    def time_passes(self, seconds):
        self.clock.now += seconds
        self.actor.tick()
        if self.actor.state == states.READY:
            # Checked on every tick: nothing stays in flight past its TTL.
            oldest = self.actor.wire.oldest_received()
            assert oldest is None or self.clock.now - oldest <= self.TTL

    @precondition(lambda self: self._open())
    @rule()
    def device_drops_connection(self):
        self.link.current.error = ConnectionResetError(104, "Connection reset by peer")
        self.link.current.recv = lambda size: b""
        self.link.current.dropped = True
        self.actor.on_readable()

    @precondition(lambda self: self.actor.state == states.CONNECTING and self._open())
    @rule()
    def connected(self):
        self.actor.on_writable()

    @precondition(lambda self: self._open() and self.actor.state == states.READY)
    @rule(lines=st.integers(1, 3))
    def device_replies(self, lines):
        self.link.current.inbox.append(b"OK\r" * lines)
        self.actor.on_readable()

    @rule()
    def take_acks(self):
        for seqs in self.actor.take_acks().values():
            self.acks.extend(seqs)

    @invariant()
    def counters_add_up(self):
        status = self.actor.status()
        assert status.accepted == len({c.seq for c in self.commands})
        assert status.accepted == (status.sent + status.dropped + status.in_flight
                                   + status.queued)

    @invariant()
    def listener_acks_each_command_at_most_once(self):
        acks = self.acks + [s for seqs in self.actor.intake.acks.values() for s in seqs]
        # A resent duplicate is acked at once, besides the original's own ack.
        assert len(acks) - len(set(acks)) <= self.resends
        assert set(acks) <= {c.seq for c in self.commands}

    @invariant()
    def streams_hold_whole_cues_written_within_ttl(self):
        open_partial = self.actor.wire.partial()
        for connection in self.link.connections:
            *whole, tail = bytes(connection.stream).split(b"\r")
            assert all(part.decode() in self.received_at or part == self.KEEPALIVE
                       for part in whole)
            if tail and not self.KEEPALIVE.startswith(tail):
                # A torn cue: only the one being written, or on a connection reset. (A
                # keep-alive the kernel took in part is finished before the next cue.)
                assert connection.reset or (
                    connection is self.link.current and open_partial is not None
                    and tail == open_partial.data[:open_partial.offset])
        for text, written_at in self.starts:
            assert written_at - self.received_at[text] <= self.TTL

    @invariant()
    def sent_means_acknowledged_by_the_device(self):
        taken = sum(bytes(c.stream[:c.acked]).count(b"\r") for c in self.link.connections)
        assert self.actor.status().sent <= taken


class PerCommandMachine(WireMachine):
    """One command per connection, closed once taken and answered (or the reply wait passed)."""

    DEVICE = {"connection": "per-command", "reply_timeout": 0.5}

    @invariant()
    def one_cue_per_connection(self):
        for connection in self.link.connections:
            assert bytes(connection.stream).count(b"\r") <= 1


class OnDemandMachine(WireMachine):
    """Connections opened for commands and closed when idle, with a keep-alive that wants an
    answer, paced by min_gap and wait_for_reply."""

    DEVICE = {"connection": "on-demand", "idle_close": 1.5, "keepalive": "KA",
              "keepalive_interval": 1.0, "reply_timeout": 1.0, "min_gap": 0.1,
              "wait_for_reply": True}


class UdpMachine(WireMachine):
    """Datagrams: taken when handed over; nothing in flight, ever."""

    DEVICE = {"transport": "udp"}

    def __init__(self):
        super().__init__()
        self.actor.connect_udp = self._connect
        self.actor.configure(None)
        self.actor.configure(validate({"name": "proj1", "host": "127.0.0.1", "port": 9999,
                                       "ttl": self.TTL, "backoff_min": 0.1,
                                       "backoff_max": 1, **self.DEVICE}))

    def _connect(self, host, port):
        connection = super()._connect(host, port)
        connection.capacity = 1 << 20  # a datagram goes whole or not at all
        return connection

    @invariant()
    def nothing_in_flight(self):
        assert self.actor.status().in_flight == 0

    @invariant()
    def sent_means_acknowledged_by_the_device(self):
        # UDP: sent = handed to the kernel whole.
        handed = sum(bytes(c.stream).count(b"\r") for c in self.link.connections)
        assert self.actor.status().sent == handed


class FakeLogin:
    """A login that waits for the device's verdict: "OK" (ready) or "NO" (refused); after
    ready, an "ERRA" reply line is a refusal (PJLink's wrong password)."""

    prefix = b""
    prefix_every = False

    def opening(self):
        return Step()

    def feed(self, data):
        if data.startswith(b"OK"):
            return Step(state="ready", rest=data[2:])
        return Step(state="failed", detail="wrong password")

    def reply_failed(self, line):
        return "wrong password (ERRA)" if line == b"ERRA" else None


class LoginMachine(WireMachine):
    """Logins that succeed, fail, time out, or are refused after the first command."""

    DEVICE = {"connection": "on-demand", "idle_close": 2.0}

    def __init__(self):
        super().__init__()
        self.actor.login = lambda device: FakeLogin()

    def _talking(self):
        return self._open() and not getattr(self.link.current, "dropped", False)

    @precondition(lambda self: self._talking() and self.actor.state == states.CONNECTED)
    @rule(ok=st.booleans())
    def device_answers_the_login(self, ok):
        self.link.current.inbox.append(b"OK" if ok else b"NO")
        self.actor.on_readable()
        assert self.actor.state == (states.READY if ok else states.AUTH_FAILED)

    @precondition(lambda self: self._talking() and self.actor.state == states.READY)
    @rule()
    def device_refuses_after_all(self):
        self.link.current.inbox.append(b"ERRA\r")
        self.actor.on_readable()
        assert self.actor.state == states.AUTH_FAILED

    @invariant()
    def a_refused_login_leaves_no_connection_open(self):
        if self.actor.state == states.AUTH_FAILED:
            assert self.actor.sock is None and self.actor.status().next_retry_at > 0


MACHINE_SETTINGS = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestWireMachine = WireMachine.TestCase
TestWireMachine.settings = MACHINE_SETTINGS
TestPerCommandMachine = PerCommandMachine.TestCase
TestPerCommandMachine.settings = settings(MACHINE_SETTINGS, max_examples=80)
TestOnDemandMachine = OnDemandMachine.TestCase
TestOnDemandMachine.settings = settings(MACHINE_SETTINGS, max_examples=80)
TestLoginMachine = LoginMachine.TestCase
TestLoginMachine.settings = settings(MACHINE_SETTINGS, max_examples=80)
TestUdpMachine = UdpMachine.TestCase
TestUdpMachine.settings = settings(MACHINE_SETTINGS, max_examples=50)


@pytest.mark.fuzz
def test_wire_machine_long():
    """``make fuzz``: 3000 sequences of up to 80 steps (about 4 minutes)."""
    for machine in (WireMachine, PerCommandMachine, OnDemandMachine, LoginMachine,
                    UdpMachine):
        run = machine.TestCase("runTest")
        run.settings = settings(max_examples=3000, stateful_step_count=80, deadline=None)
        run.runTest()


def test_after_losing_a_working_connection_retries_stay_short_while_the_device_is_away(
        clock, emitted):
    actor, link = wired(clock, emitted)
    clock.now += 5  # a connection that served
    link.current.error = ConnectionResetError(104, "Connection reset by peer")
    actor.handle_command(command("X", clock.now))  # the send fails: the connection is lost
    assert actor.state == states.WAITING

    def refuse(host, port):
        raise ConnectionRefusedError(111, "Connection refused")

    actor.connect = refuse
    delays = []
    for _ in range(6):
        clock.now = actor.retry_at
        actor.tick()  # connect refused: the backoff grows, but is capped while expected back
        delays.append(actor.retry_at - clock.now)
    assert max(delays) <= 0.8 and actor.backoff.attempts >= 6
    clock.now += 120  # long gone: the usual growing backoff again
    actor.tick()
    clock.now = actor.retry_at
    actor.tick()
    assert actor.retry_at - clock.now > 0.8
