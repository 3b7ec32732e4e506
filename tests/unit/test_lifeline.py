"""The lifeline's watchdog with a fake clock, fake exit and fake parent: no real exits."""

from __future__ import annotations

import logging
import signal
import threading

import pytest

from oscar import lifeline as lifeline_mod
from oscar.lifeline import Lifeline


class Fakes:
    def __init__(self) -> None:
        self.now = 100.0
        self.parent = 4242
        self.exits: list[int] = []
        self.kills: list[tuple[int, int]] = []

    def make(self, stall_after: float = 2.0, check_every: float = 3600.0) -> Lifeline:
        # check_every of an hour: the thread never looks on its own; the test calls check().
        return Lifeline("oscar-test", stall_after, exit=self.exits.append,
                        kill=lambda pid, sig: self.kills.append((pid, sig)),
                        getppid=lambda: self.parent, clock=lambda: self.now,
                        check_every=check_every, parent_death_signal=False,
                        startup_grace=0.0)


@pytest.fixture
def fakes():
    return Fakes()


def test_a_loop_that_beats_is_left_alone(fakes):
    line = fakes.make(stall_after=2.0)
    for _ in range(10):
        fakes.now += 1.5
        line.beat()
        line.check()
    assert fakes.exits == [] and fakes.kills == []
    line.stop()


def test_a_stalled_loop_is_logged_with_its_stack_and_exits(fakes, caplog):
    line = fakes.make(stall_after=2.0)
    line.beat()
    fakes.now += 1.9
    line.check()
    assert fakes.exits == []
    fakes.now += 0.2
    with caplog.at_level(logging.CRITICAL, logger="oscar.lifeline"):
        line.check()
        line.check()  # once is enough: never a second exit or a second log line
    assert fakes.exits == [lifeline_mod.STALL_EXIT_CODE]
    [record] = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    text = record.getMessage()
    assert "oscar-test" in text and "stalled for 2.1s" in text
    assert "Main thread stack" in text and "test_lifeline.py" in text  # where the loop sits


def test_a_process_stopped_as_a_whole_is_not_a_stall(fakes):
    line = fakes.make(stall_after=4.0, check_every=1.0)
    fakes.now += 1.0
    line.beat()
    line.check()
    fakes.now += 30.0  # SIGSTOP: neither the loop nor the watchdog ran meanwhile
    line.check()
    assert fakes.exits == []
    for _ in range(3):  # after SIGCONT the loop gets a full stall_after again
        fakes.now += 1.0
        line.check()
    assert fakes.exits == []
    fakes.now += 1.0
    line.check()  # but a loop that still does not turn is a stall
    assert fakes.exits == [lifeline_mod.STALL_EXIT_CODE]


def test_stop_disarms_the_watchdog(fakes):
    line = fakes.make(stall_after=1.0)
    line.stop()
    fakes.now += 60
    line.check()
    assert fakes.exits == []


def test_the_watchdog_thread_fires_by_itself(fakes):
    exited = threading.Event()

    def exit_(code: int) -> None:
        fakes.exits.append(code)
        exited.set()

    import time

    line = Lifeline("oscar-test", 0.5, exit=exit_, kill=lambda *a: None,
                    getppid=lambda: fakes.parent, clock=time.monotonic, check_every=0.05,
                    parent_death_signal=False, startup_grace=0.0)
    assert exited.wait(10), "watchdog did not fire"
    line.join(5)
    assert fakes.exits == [lifeline_mod.STALL_EXIT_CODE]


def test_orphan_gets_sigterm_then_exits_if_it_does_not_stop(fakes):
    line = fakes.make(stall_after=1000.0)
    line.check()
    assert fakes.kills == []
    fakes.parent = 1  # supervisord died: re-parented to init
    line.check()
    assert [sig for _, sig in fakes.kills] == [signal.SIGTERM]
    fakes.now += 1
    line.beat()
    line.check()
    assert len(fakes.kills) == 1 and fakes.exits == []  # once, and a moment to shut down
    fakes.now += lifeline_mod.ORPHAN_GRACE + 1
    line.beat()
    line.check()
    assert fakes.exits == [lifeline_mod.STALL_EXIT_CODE]


def test_start_up_gets_extra_time_before_the_first_beat(fakes):
    line = Lifeline("oscar-test", 2.0, exit=fakes.exits.append, kill=lambda *a: None,
                    getppid=lambda: fakes.parent, clock=lambda: fakes.now, check_every=3600.0,
                    parent_death_signal=False, startup_grace=20.0)
    fakes.now += 21.0
    line.check()
    assert fakes.exits == []  # still opening its store, say
    fakes.now += 1.5
    line.check()
    assert fakes.exits == [lifeline_mod.STALL_EXIT_CODE]


def test_a_stall_soon_after_start_up_is_seen_without_waiting_out_the_grace(monkeypatch):
    # Where the kernel watches the parent, the watchdog sleeps until a stall could first be
    # seen. The start-up grace puts that moment 20 s ahead, but the first beat brings it back:
    # a loop that beats once and then hangs must be ended about stall_after later.
    monkeypatch.setattr(lifeline_mod, "set_parent_death_signal", lambda *a: True)
    exited = threading.Event()
    line = Lifeline("oscar-test", 0.5, exit=lambda code: exited.set(), kill=lambda *a: None,
                    check_every=0.05, startup_grace=20.0)
    line.beat()
    assert exited.wait(10), "watchdog slept through the start-up grace"
    line.join(5)


def test_stall_after_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OSCAR_STALL_AFTER", "1.5")
    assert lifeline_mod.stall_after_from_env() == 1.5
    for bad in ("soon", "-1", "0", ""):
        monkeypatch.setenv("OSCAR_STALL_AFTER", bad)
        assert lifeline_mod.stall_after_from_env() == lifeline_mod.DEFAULT_STALL_AFTER


def test_stall_hook_is_off_unless_its_variable_is_set(monkeypatch):
    monkeypatch.delenv("OSCAR_TEST_STALL_ON", raising=False)
    assert lifeline_mod.stall_marker_for_tests() is None
    monkeypatch.setenv("OSCAR_TEST_STALL_ON", "/stall")
    assert lifeline_mod.stall_marker_for_tests() == b"/stall\0"
