"""The parts of Actor that need no socket: it is never given an enabled device here."""

import itertools

import pytest

from oscar import states
from oscar.actor import Actor
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
