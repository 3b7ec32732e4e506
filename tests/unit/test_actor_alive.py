"""Heartbeats while nothing changed: the actor sends a small ActorAlive, the registry keeps the
last full status fresh and re-publishes it whole; anything it could have missed brings a full
status again (a change, a new registry run, every few heartbeats)."""

from __future__ import annotations

import time

from oscar import actor_status
from oscar.actor_status import ALIVES_BETWEEN_FULL, StatusBoard
from oscar.messages import ActorAlive, ActorStatus
from oscar.models import validate
from oscar.status_table import STALE_AFTER, StatusTable
from processes.registry import _record
from tests.unit.actor_rig import Clock

RUN = 1700000000.0  # a registry run, as its beacon names it
DEVICE = validate({"name": "proj1", "host": "127.0.0.1", "port": 9999})


def board_after_beacons(*runs: float) -> tuple[StatusBoard, list, Clock]:
    clock = Clock(100.0)
    sent: list = []
    board = StatusBoard("proj1", emit=sent.append, clock=clock)
    for run in runs:
        clock.now += actor_status.HEARTBEAT
        board.beacon(run)
        board.report()
    return board, sent, clock


def heartbeat(board: StatusBoard, clock: Clock, run: float = RUN) -> None:
    clock.now += actor_status.HEARTBEAT
    board.beacon(run)
    board.report()


def test_a_heartbeat_with_nothing_changed_is_an_actor_alive():
    board, sent, clock = board_after_beacons(RUN)
    assert isinstance(sent[-1], ActorStatus)  # this registry run's first: whole
    heartbeat(board, clock)
    assert isinstance(sent[-1], ActorAlive) and sent[-1].device == "proj1"
    assert sent[-1].pid == sent[0].pid


def test_a_change_since_the_last_full_status_sends_it_whole():
    board, sent, clock = board_after_beacons(RUN)
    board.count("accepted")
    heartbeat(board, clock)
    assert isinstance(sent[-1], ActorStatus) and sent[-1].accepted == 1
    board.set_state("waiting", "refused")
    assert isinstance(sent[-1], ActorStatus) and sent[-1].state == "waiting"


def test_a_new_registry_run_gets_a_full_status_first():
    board, sent, clock = board_after_beacons(RUN, RUN)
    assert isinstance(sent[-1], ActorAlive)
    heartbeat(board, clock, run=RUN + 60)  # the registry restarted: it has no status
    assert isinstance(sent[-1], ActorStatus)
    heartbeat(board, clock, run=RUN + 60)
    assert isinstance(sent[-1], ActorAlive)


def test_a_registry_that_does_not_name_its_run_always_gets_full_statuses():
    board, sent, clock = board_after_beacons(0.0, 0.0, 0.0)
    assert all(isinstance(m, ActorStatus) for m in sent)


def test_a_full_status_goes_every_few_heartbeats_anyway():
    board, sent, clock = board_after_beacons(RUN)
    for _ in range(ALIVES_BETWEEN_FULL + 1):
        heartbeat(board, clock)
    kinds = [type(m) for m in sent]
    assert kinds == [ActorStatus] + [ActorAlive] * ALIVES_BETWEEN_FULL + [ActorStatus]


def test_the_registry_keeps_the_status_fresh_and_republishes_it_whole():
    table = StatusTable()
    long_ago = time.time() - STALE_AFTER - 10
    table.record_status(ActorStatus("proj1", "ready", 1.0, 42, sent=5, at=long_ago))
    published = []
    _record(table, None, ActorAlive("proj1", 42), published.append)
    assert len(published) == 1 and isinstance(published[0], ActorStatus)
    assert published[0].sent == 5 and published[0].at > long_ago
    row = table.device_row(DEVICE)
    assert row["state"] == "ready" and row["stale"] is False and row["heartbeat_age"] < 5


def test_an_alive_from_a_run_the_registry_has_no_status_of_is_ignored():
    table = StatusTable()
    published = []
    _record(table, None, ActorAlive("proj1", 42), published.append)  # nothing kept yet
    table.record_status(ActorStatus("proj1", "ready", 1.0, 42))
    _record(table, None, ActorAlive("proj1", 43), published.append)  # another run
    assert published == [] and table.actors["proj1"].pid == 42
