"""The listener's scheduler for bundles dated in the future (no sockets, no clock)."""

import pytest

from oscar.schedule import ScheduledCue, ScheduleFull, Scheduler


def cue(due: float, device: str = "proj1", data: bytes = b"X") -> ScheduledCue:
    return ScheduledCue(due=due, device=device, data=data, terminate=True, sender="s",
                        received_at=0.0)


def test_cues_leave_when_due_earliest_first():
    scheduler = Scheduler()
    scheduler.add(cue(30.0, data=b"late"))
    scheduler.add(cue(10.0, data=b"early"))
    scheduler.add(cue(20.0, data=b"middle"))
    assert scheduler.next_due() == 10.0
    assert scheduler.pop_due(9.999) == []
    assert [c.data for c in scheduler.pop_due(20.0)] == [b"early", b"middle"]
    assert len(scheduler) == 1
    assert scheduler.next_due() == 30.0
    assert [c.data for c in scheduler.pop_due(100.0)] == [b"late"]
    assert scheduler.next_due() is None and len(scheduler) == 0


def test_elements_of_one_bundle_keep_their_order():
    scheduler = Scheduler()
    for index in range(50):  # same due time, e.g. one bundle fanned out to many cues
        scheduler.add(cue(5.0, device=f"d{index % 3}", data=str(index).encode()))
    assert [c.data for c in scheduler.pop_due(5.0)] == [str(i).encode() for i in range(50)]


def test_a_full_scheduler_refuses_rather_than_grows():
    scheduler = Scheduler(limit=3)
    for due in (1.0, 2.0, 3.0):
        scheduler.add(cue(due))
    assert scheduler.room() == 0
    with pytest.raises(ScheduleFull):
        scheduler.add(cue(4.0))
    scheduler.pop_due(1.0)
    assert scheduler.room() == 1
    scheduler.add(cue(4.0))


def test_cancel_removes_the_cues_of_disabled_devices_only():
    scheduler = Scheduler()
    scheduler.add(cue(3.0, "a", b"a1"))
    scheduler.add(cue(1.0, "b", b"b1"))
    scheduler.add(cue(2.0, "a", b"a2"))
    scheduler.add(cue(4.0, "c", b"c1"))
    cancelled = scheduler.cancel(lambda name: name != "a")
    assert [c.data for c in cancelled] == [b"a2", b"a1"]
    assert len(scheduler) == 2 and scheduler.pending_for("a") == 0
    assert scheduler.pending_for("b") == 1
    assert scheduler.cancel(lambda name: True) == []
    assert [c.data for c in scheduler.pop_due(10.0)] == [b"b1", b"c1"]


def test_cancelled_cues_never_come_back_and_free_their_room():
    scheduler = Scheduler(limit=2)
    scheduler.add(cue(1.0, "a"))
    scheduler.add(cue(2.0, "a"))
    scheduler.cancel(lambda name: False)
    assert scheduler.next_due() is None
    scheduler.add(cue(5.0, "b"))
    scheduler.add(cue(6.0, "b"))
    assert [c.device for c in scheduler.pop_due(10.0)] == ["b", "b"]


def test_many_cancellations_keep_the_heap_small():
    scheduler = Scheduler(limit=10_000)
    for index in range(5000):
        scheduler.add(cue(float(index), "gone" if index % 2 else "kept"))
    scheduler.cancel(lambda name: name == "kept")
    assert len(scheduler) == 2500
    assert len(scheduler._heap) <= 2 * 2500 + 64
