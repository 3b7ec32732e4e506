"""When the device actor's loop must wake up: an idle actor sleeps until its next real timer,
and a turn that only took commands tells the loop what it started (``wake_after_commands``),
so the loop can skip its timer pass until then without missing anything."""

from __future__ import annotations

from oscar import actor_status, states
from oscar.actor import EXPIRE_EVERY, IN_FLIGHT_CHECK
from oscar.lifeline import Lifeline
from oscar.messages import ConfigBeacon
from oscar.status_table import STALE_AFTER
from processes.device_actor import ConfigFollower
from tests.unit.actor_rig import Clock

NEVER = 1e12  # a wake-up time far away: what the loop had before the turn


def test_an_idle_ready_actor_sleeps_until_its_heartbeat(rigs):
    rig = rigs()
    rig.ready()
    rig.actor.tick()
    # No fixed short wake-up: the next thing to do is the status heartbeat.
    assert rig.actor.next_timeout() > 1.0
    rig.clock.now += rig.actor.next_timeout()
    before = len(rig.statuses())
    rig.actor.tick()
    assert len(rig.statuses()) == before + 1


def test_a_queued_command_wakes_the_actor_to_expire_it(rigs):
    rig = rigs(ttl=1.0, backoff_min=5.0, backoff_max=5.0)
    rig.actor.backoff.minimum = rig.actor.backoff.maximum = 5.0
    rig.server.close()  # nothing listens: the connection is refused, the retry is 5 s away
    rig.start()
    rig.wait_state(states.WAITING)
    rig.cue("GO")
    assert rig.counts()["queued"] == 1
    # Its TTL ends long before the retry: the loop is told to wake for it.
    while rig.counts()["queued"]:
        assert rig.actor.next_timeout() <= EXPIRE_EVERY
        rig.clock.now += max(rig.actor.next_timeout(), 0.001)
        rig.actor.tick()
    assert rig.clock.now - 1000.0 < 1.0 + 2 * EXPIRE_EVERY
    assert rig.counts() == {"sent": 0, "dropped": 1, "in_flight": 0, "queued": 0}


def test_commands_written_at_once_keep_the_loop_on_its_fast_path(rigs):
    rig = rigs()
    device = rig.ready()
    rig.actor.tick()
    sock = rig.actor.sock
    dropped = rig.actor.counters["dropped"]
    rig.cue("GO")
    wake_at = rig.actor.wake_after_commands(NEVER, dropped, sock)
    # In flight until the device's TCP stack acknowledges it (tick() counts it): look soon.
    assert rig.counts()["in_flight"] == 1
    assert 0 < wake_at <= rig.clock.now + IN_FLIGHT_CHECK
    assert wake_at <= rig.actor.board.status_due  # the status with the new counters too
    device.wait_for(b"GO\r")
    rig.clock.now = wake_at
    rig.actor.tick()
    assert rig.counts()["sent"] == 1


def test_anything_more_than_writing_commands_asks_for_a_full_turn(rigs):
    rig = rigs()
    rig.ready()
    sock = rig.actor.sock
    dropped = rig.actor.counters["dropped"]
    # A command already past its TTL is dropped (and reported): the loop must look at once.
    rig.cue("OLD", age=60.0)
    assert rig.actor.counters["dropped"] == dropped + 1
    assert rig.actor.wake_after_commands(NEVER, dropped, sock) == 0.0
    # The socket the loop polls is not the actor's any more.
    assert rig.actor.wake_after_commands(NEVER, rig.actor.counters["dropped"], None) == 0.0


def test_a_paced_device_always_gets_a_full_turn(rigs):
    rig = rigs(min_gap=0.5)
    device = rig.ready()
    rig.actor.tick()
    dropped = rig.actor.counters["dropped"]
    rig.cue("A")
    rig.cue("B")  # waits for the gap: the loop must arm the pacing timer
    device.wait_for(b"A\r")
    assert rig.actor.wake_after_commands(NEVER, dropped, rig.actor.sock) == 0.0


def test_the_heartbeat_rides_on_the_registrys_beacon():
    clock = Clock(100.0)
    board = actor_status.StatusBoard("dev", emit=[].append, clock=clock)
    board.report()
    clock.now += 1.5  # out of step with the beacon (a state change just before)
    board.beacon()
    assert board.report_due()  # goes now, so the next beacon finds it due again
    board.report()
    clock.now += actor_status.HEARTBEAT
    assert not board.report_due()  # no timer of its own before the next beacon
    board.beacon()
    assert board.report_due()


def test_a_report_that_just_left_skips_the_beacon():
    clock = Clock(100.0)
    board = actor_status.StatusBoard("dev", emit=[].append, clock=clock)
    board.report()
    clock.now += actor_status.BEACON_GAP / 2
    board.beacon()
    assert not board.report_due()


def test_without_beacons_the_heartbeat_goes_on_its_own_well_before_stale():
    clock = Clock(100.0)
    sent = []
    board = actor_status.StatusBoard("dev", emit=sent.append, clock=clock)
    board.report()
    assert min(board.next_due()) == 100.0 + actor_status.HEARTBEAT_ALONE
    assert 2 * actor_status.HEARTBEAT_ALONE < STALE_AFTER  # one lost heartbeat is not stale
    clock.now += actor_status.HEARTBEAT_ALONE
    assert board.report_due()


def test_an_idle_actor_sends_its_heartbeat_when_the_beacon_wakes_it(rigs):
    rig = rigs()
    rig.ready()
    rig.actor.tick()
    follower = ConfigFollower(rig.actor)
    rig.clock.now += actor_status.HEARTBEAT
    before = len(rig.statuses())
    follower.apply(ConfigBeacon(follower.revision))
    rig.actor.tick()  # the loop's turn after a config message
    assert len(rig.statuses()) == before + 1


def test_the_watchdog_sleeps_until_a_stall_could_first_be_seen():
    now = 100.0
    line = Lifeline("oscar-test", 10.0, exit=lambda code: None, kill=lambda *a: None,
                    getppid=lambda: 1, clock=lambda: now, check_every=3600.0,
                    parent_death_signal=False, startup_grace=0.0)
    line.stop()
    line._check_every = 2.5
    line.pdeathsig = True  # the kernel watches the parent: no need to ask every second
    line.beat()
    now += 1.0
    assert line._next_wait() == 9.0
    line.pdeathsig = False  # the parent must be polled with getppid()
    assert line._next_wait() == 2.5
