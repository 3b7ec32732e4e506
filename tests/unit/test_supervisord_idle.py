"""When our supervisord may sleep longer than its stock second: only while none of its timers can
be due (oscar/supervisord_main.py). Real supervisor classes, no process started."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from supervisor.http import deferring_http_channel
from supervisor.process import EventListenerPool, ProcessGroup
from supervisor.states import ProcessStates, SupervisorStates

from oscar import supervisord_main


def program(state: int, autostart: bool = True, laststart: float = 1.0):
    return SimpleNamespace(get_state=lambda: state, laststart=laststart,
                           config=SimpleNamespace(autostart=autostart))


def supervisor(*programs, group_class=ProcessGroup, mood=SupervisorStates.RUNNING,
               channels=()):
    group = group_class.__new__(group_class)  # no config needed for what _idle reads
    group.processes = {f"p{i}": p for i, p in enumerate(programs)}
    sockets = dict(enumerate(channels))
    return SimpleNamespace(options=SimpleNamespace(mood=mood, get_socket_map=lambda: sockets),
                           process_groups={"g": group},
                           oscar_reaped=False, oscar_woken=False, oscar_ending={})


def test_running_and_stopped_programs_let_it_sleep():
    idle = supervisor(program(ProcessStates.RUNNING), program(ProcessStates.FATAL),
                      program(ProcessStates.STOPPED, autostart=False, laststart=0))
    assert supervisord_main._poll_timeout(idle, 1) == supervisord_main.IDLE_POLL


@pytest.mark.parametrize("state", [ProcessStates.STARTING, ProcessStates.BACKOFF,
                                   ProcessStates.STOPPING])
def test_a_program_with_a_timer_keeps_the_one_second_tick(state):
    busy = supervisor(program(ProcessStates.RUNNING), program(state))
    assert supervisord_main._poll_timeout(busy, 1) == 1


def test_a_program_just_added_is_started_on_the_next_tick():
    added = supervisor(program(ProcessStates.STOPPED, autostart=True, laststart=0))
    assert supervisord_main._poll_timeout(added, 1) == 1


def test_shutting_down_or_event_listeners_keep_the_stock_tick():
    stopping = supervisor(program(ProcessStates.RUNNING), mood=SupervisorStates.SHUTDOWN)
    assert supervisord_main._poll_timeout(stopping, 1) == 1
    listeners = supervisor(program(ProcessStates.RUNNING), group_class=EventListenerPool)
    assert supervisord_main._poll_timeout(listeners, 1) == 1


def test_a_deferred_xmlrpc_answer_keeps_the_stock_tick():
    """startProcess/stopProcess with wait=True answer from a later turn (the channel's delay):
    a 5 s sleep would hold that answer up to 5 s."""
    channel = deferring_http_channel.__new__(deferring_http_channel)
    channel.delay = 0
    waiting = supervisor(program(ProcessStates.RUNNING), channels=[channel])
    assert supervisord_main._poll_timeout(waiting, 1) == supervisord_main.IDLE_POLL
    channel.delay = 0.1  # what supervisor sets while a deferred producer is NOT_DONE_YET
    assert supervisord_main._poll_timeout(waiting, 1) == 1
