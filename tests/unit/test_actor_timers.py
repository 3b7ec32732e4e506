"""Keep-alive, reply timeout and pacing (min_gap, wait_for_reply) against a device played on a
real 127.0.0.1 socket; time moves only when the test moves the fake clock."""

import pytest

from oscar import states
from oscar.actor import Actor
from oscar.messages import Command
from oscar.models import Device
from tests.unit.actor_rig import Clock
from tests.unit.test_actor import Link


def test_a_keepalive_goes_when_nothing_was_written_for_the_interval(rigs):
    rig = rigs(keepalive="PING:\\n", keepalive_interval=2.0, terminator="\\n")
    device = rig.ready()
    rig.clock.now += 1.5
    rig.cue("GO")
    device.wait_for(b"GO\n")
    rig.clock.now += 1.9  # 1.9 s since the last write: not yet
    rig.settle()
    assert device.received == b"GO\n"
    rig.clock.now += 0.1
    assert device.wait_for(b"PING:\n\n") == b"GO\nPING:\n\n"
    rig.clock.now += 2.0
    assert device.wait_for(b"PING:\n\nPING:\n\n").count(b"PING") == 2
    # Not a cue: nothing counted, nothing reported as sent.
    rig.wait_sent(1)
    status = rig.actor.status()
    assert (status.accepted, status.sent) == (1, 1)
    assert rig.actor.status().connects == 1


def test_a_keepalive_without_a_reply_within_reply_timeout_reconnects(rigs):
    rig = rigs(keepalive="Q", keepalive_interval=2.0, reply_timeout=1.0)
    device = rig.ready()
    rig.clock.now += 2.0
    device.wait_for(b"Q\r")
    device.send(b"60-1234-01\r\n")  # answered: alive
    rig.pump(lambda: rig.actor.counters["replies"] == 1, message="the answer")
    rig.clock.now += 1.5
    rig.settle()
    assert rig.actor.state == states.READY
    rig.clock.now += 0.5  # the next keep-alive
    device.wait_for(b"Q\rQ\r")
    rig.clock.now += 1.01  # and no answer to it
    rig.settle()
    assert rig.actor.state == states.WAITING
    assert "no reply within 1s" in rig.actor.status().last_error
    assert rig.actor.backoff.attempts == 1  # a failure
    device.wait_closed()
    rig.clock.now = rig.actor.retry_at
    rig.accept()
    rig.wait_state(states.READY)


def test_a_command_without_a_reply_within_reply_timeout_reconnects_and_stays_sent(rigs):
    rig = rigs(reply_timeout=1.0).start()
    device = rig.accept()
    rig.cue("GO")
    device.wait_for(b"GO\r")
    rig.wait_sent(1)
    rig.clock.now += 1.01
    rig.settle()
    assert rig.actor.state == states.WAITING
    assert rig.counts() == {"sent": 1, "dropped": 0, "in_flight": 0, "queued": 0}


def test_min_gap_spaces_commands_without_blocking(rigs):
    rig = rigs(min_gap=0.5)
    device = rig.ready()
    for text in ("A", "B", "C"):
        rig.cue(text)
    device.wait_for(b"A\r")
    rig.settle()
    assert device.received == b"A\r"
    # The loop is told when to come back, not made to sleep.
    assert 0 < rig.actor.next_timeout() <= 0.5
    rig.clock.now += 0.49
    rig.settle()
    assert device.received == b"A\r"
    rig.clock.now += 0.01
    device.wait_for(b"B\r")
    rig.settle()
    assert device.received == b"A\rB\r"
    rig.clock.now += 0.5
    assert device.wait_for(b"C\r") == b"A\rB\rC\r"
    rig.wait_sent(3)


def test_a_gap_that_ends_between_the_loops_two_questions_wakes_it_at_once(rigs):
    # The loop asks wants_write() (gate shut) and then next_timeout(); if the gap ended in
    # between, the loop must come back at once, not at the next half-second tick.
    rig = rigs(min_gap=0.1)
    device = rig.ready()
    rig.cue("A")
    rig.cue("B")
    device.wait_for(b"A\r")
    rig.wait_sent(1)  # nothing in flight: no in-flight check due
    assert not rig.actor.wants_write()  # B waits for the gap
    rig.clock.now += 0.1
    assert rig.actor.next_timeout() == 0.0
    assert rig.actor.wants_write()
    rig.settle()
    assert device.wait_for(b"B\r") == b"A\rB\r"


def test_wait_for_reply_holds_the_next_command_until_a_reply_line(rigs):
    rig = rigs(wait_for_reply=True, reply_timeout=3.0)
    device = rig.ready()
    rig.cue("POWR 1")
    rig.cue("INPT 2")
    device.wait_for(b"POWR 1\r")
    rig.settle()
    assert device.received == b"POWR 1\r"
    device.send(b"POWR=")  # not a whole line yet
    rig.settle()
    assert device.received == b"POWR 1\r"
    device.send(b"OK\r")
    assert device.wait_for(b"INPT 2\r") == b"POWR 1\rINPT 2\r"


def test_wait_for_reply_gives_up_after_the_reply_wait(rigs):
    rig = rigs(wait_for_reply=True)  # reply_timeout 0: 2 s
    device = rig.ready()
    rig.cue("ONE")
    rig.cue("TWO")
    device.wait_for(b"ONE\r")
    rig.clock.now += 1.9
    rig.settle()
    assert device.received == b"ONE\r"
    rig.clock.now += 0.1
    device.wait_for(b"TWO\r")
    assert rig.actor.state == states.READY  # no reply_timeout set: not a dead link


def test_commands_held_by_pacing_still_expire_at_their_ttl(rigs):
    rig = rigs(min_gap=5.0, ttl=2.0)
    device = rig.ready()
    rig.cue("A")
    rig.cue("B")
    device.wait_for(b"A\r")
    rig.clock.now += 2.5
    rig.settle()
    assert rig.counts() == {"sent": 1, "dropped": 1, "in_flight": 0, "queued": 0}
    assert "expired" in rig.events("dropped")[0].detail


def test_the_loop_is_not_woken_early_for_timers_it_cannot_act_on():
    """The kernel's buffer is full, so a queued command waits for POLLOUT: the next wake-up is
    the in-flight check, not 0 s over and over (no pacing due, no idle close due)."""
    link = Link(capacity=5)
    clock = Clock()
    actor = Actor("dev", emit=[].append, clock=clock, unacked=lambda sock: sock.unacked(),
                  connect=link.connect)
    actor.configure(Device(name="dev", host="127.0.0.1", port=9999, connection="on-demand",
                           idle_close=1.0))
    actor.handle_command(Command(device="dev", data=b"ABCD", received_at=clock.now,
                                 sender="s", seq=1))
    actor.on_writable()
    actor.handle_command(Command(device="dev", data=b"EF", received_at=clock.now,
                                 sender="s", seq=2))
    assert link.current.stream == b"ABCD\r" and len(actor.queue) == 1
    actor.tick()
    assert actor.next_timeout() == pytest.approx(0.1)
    clock.now += 5.0  # idle_close long past, but a command waits: no idle close due
    actor.tick()
    assert actor.state == states.READY and actor.next_timeout() == pytest.approx(0.1)


def test_an_actor_with_no_config_yet_sleeps_until_its_next_report():
    """Started before its device's record reached it (state CONNECTING, no connection): no
    connect deadline to wait for, so the loop must not spin on a zero timeout."""
    clock = Clock()
    actor = Actor("early", emit=lambda message: None, clock=clock)
    assert actor.state == states.CONNECTING and actor.sock is None
    actor.tick()  # the first turn: its first status report goes
    assert actor.next_timeout() > 1.0
