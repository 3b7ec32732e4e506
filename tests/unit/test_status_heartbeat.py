"""Heartbeat age in the registry's status rows: how old each actor's and the listener's last
report is, and whether a RUNNING process has stopped reporting (stale)."""

import time

import pytest

from oscar import cli_format, states
from oscar.messages import ActorStatus, ListenerStatus
from oscar.models import validate
from oscar.status_table import STALE_AFTER, StatusTable

DEVICE = validate({"name": "proj1", "host": "127.0.0.1", "port": 9999})


def table_with(process_state: str | None, age: float, pid: int = 42) -> StatusTable:
    table = StatusTable()
    if process_state is not None:
        table.processes = {"oscar-device-proj1": {"name": "oscar-device-proj1", "pid": pid,
                                                  "statename": process_state}}
        table.processes_at = time.time() - 100  # the report is newer than the process info
    table.record_status(ActorStatus("proj1", "connected", 0.0, pid, at=time.time() - age))
    return table


def test_fresh_actor_report_has_a_small_age_and_is_not_stale():
    row = table_with("RUNNING", age=1.0).device_row(DEVICE)
    assert 1.0 <= row["heartbeat_age"] < 1.0 + 5
    assert row["stale"] is False


def test_running_actor_silent_longer_than_the_limit_is_stale():
    row = table_with("RUNNING", age=STALE_AFTER + 6).device_row(DEVICE)
    assert row["heartbeat_age"] >= STALE_AFTER + 6
    assert row["stale"] is True
    assert f"stale {int(STALE_AFTER + 6)}s" in cli_format.status_table({"devices": [row]})


@pytest.mark.parametrize("state", ["STOPPED", "BACKOFF", "EXITED"])
def test_a_process_that_is_not_running_is_not_called_stale(state):
    assert table_with(state, age=60).device_row(DEVICE)["stale"] is False


def test_disabled_device_is_never_stale():
    disabled = validate({"name": "proj1", "host": "127.0.0.1", "port": 9999, "enabled": False})
    assert table_with("RUNNING", age=60).device_row(disabled)["stale"] is False


def test_without_supervisord_information_the_heartbeat_alone_decides():
    assert table_with(None, age=60).device_row(DEVICE)["stale"] is True


def test_no_report_yet_has_no_age():
    row = StatusTable().device_row(DEVICE)
    assert row["heartbeat_age"] is None and row["stale"] is False
    assert cli_format.heartbeat_text(row) == "-"


def test_listener_age_and_staleness():
    table = StatusTable()
    table.listener = ListenerStatus(7, 53999, 53999, {}, at=time.time() - 1)
    assert table.listener_row()["stale"] is False
    table.listener = ListenerStatus(7, 53999, 53999, {}, at=time.time() - 30)
    row = table.listener_row()
    assert row["age"] >= 30 and row["stale"] is True
    table.processes = {"oscar-listener": {"name": "oscar-listener", "pid": 7,
                                          "statename": "STARTING"}}
    assert table.listener_row()["stale"] is False


@pytest.mark.parametrize(("age", "text"), [
    (0.4, "0s"), (2.9, "2s"), (STALE_AFTER + 0.5, f"stale {int(STALE_AFTER + 0.5)}s"),
    (125.0, "stale 125s"),
])
def test_heartbeat_text(age, text):
    assert cli_format.heartbeat_text({"heartbeat_age": age, "stale": age > STALE_AFTER}) == text


def test_process_rows_show_the_uptime_of_now_not_of_the_last_read():
    table = StatusTable()
    table.processes = {
        "oscar-web": {"name": "oscar-web", "pid": 9, "statename": "RUNNING", "start": 1000,
                      "now": 1005, "description": "pid 9, uptime 0:00:05"},
        "oscar-device-a": {"name": "oscar-device-a", "pid": 0, "statename": "BACKOFF",
                           "start": 1000, "now": 1005, "description": "Exited too quickly"}}
    device, web = table.process_rows(now=1000 + 3 * 3600 + 62)
    assert web["description"] == "pid 9, uptime 3:01:02" and web["now"] == 11862
    assert device["description"] == "Exited too quickly" and device["now"] == 11862


def test_an_actor_that_reported_while_still_starting_keeps_its_state():
    # Up for less than supervisord's startsecs, already connected: not "actor not running".
    table = table_with("STARTING", age=0.5)
    table.processes_at = time.time()  # process info read after its report
    assert table.device_row(DEVICE)["state"] == "connected"
    table.processes["oscar-device-proj1"]["statename"] = "EXITED"
    assert table.device_row(DEVICE)["state"] == states.NOT_RUNNING
