"""Totals per device that survive actor restarts, and "since" that only moves when the kind of
state changes (up, down, disabled), in the registry's status table."""

from oscar.messages import ActorStatus
from oscar.models import validate
from oscar.status_table import StatusTable

DEVICE = validate({"name": "proj1", "host": "127.0.0.1", "port": 9999})
OFF = validate({"name": "proj1", "host": "127.0.0.1", "port": 9999, "enabled": False})


def report(pid, state="ready", since=100.0, at=200.0, **counters):
    counters = {"sent": 0, "dropped": 0, "queued": 0, "in_flight": 0, **counters}
    counters.setdefault("accepted", counters["sent"] + counters["dropped"] + counters["queued"]
                        + counters["in_flight"])
    return ActorStatus("proj1", state, since, pid, at=at, **counters)


def running(table, pid):
    table.processes = {"oscar-device-proj1": {"name": "oscar-device-proj1", "pid": pid,
                                              "statename": "RUNNING"}}
    table.processes_at = 0.0


def test_totals_add_up_actor_runs_a_dead_runs_in_flight_is_dropped_its_queue_is_resent():
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, sent=5, dropped=1, queued=2, in_flight=1, replies=3,
                               connects=1))
    running(table, 2)
    # The listener resends the 2 queued (never acked) commands: the new run accepts them.
    table.record_status(report(2, sent=4, connects=1, at=300.0))
    row = table.device_row(DEVICE)
    assert (row["sent"], row["dropped"], row["replies"], row["connects"]) == (9, 2, 3, 2)
    assert row["accepted"] == 5 + 1 + 1 + 4  # the resent two are counted once, by run 2
    assert row["run"]["sent"] == 4
    assert row["accepted"] == row["sent"] + row["dropped"] + row["in_flight"] + row["queued"]


def test_a_late_report_of_an_ended_run_is_not_counted_again():
    table = StatusTable()
    table.record_status(report(1, sent=5))
    table.record_status(report(2, sent=1))
    table.record_status(report(1, sent=6))  # last words arriving after the new run's first
    running(table, 2)
    assert table.device_row(DEVICE)["sent"] == 6


def test_totals_survive_disable_and_enable():
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, sent=7))
    table.record_status(report(1, state="disabled", since=150.0, sent=7, at=250.0))
    table.processes = {}
    assert table.device_row(OFF)["sent"] == 7
    running(table, 3)
    table.record_status(report(3, state="connecting", sent=0, at=400.0))
    assert table.device_row(DEVICE)["sent"] == 7


def test_reset_zeroes_totals_but_keeps_waiting_commands_counted():
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, sent=5, dropped=2, queued=3, replies=4))
    table.reset("proj1", now=500.0)
    row = table.device_row(DEVICE)
    assert (row["sent"], row["dropped"], row["replies"], row["queued"]) == (0, 0, 0, 3)
    assert row["accepted"] == 3
    assert row["totals_since"] == 500.0
    table.record_status(report(1, sent=7, dropped=2, queued=1, replies=4, at=300.0))
    row = table.device_row(DEVICE)
    assert (row["sent"], row["accepted"]) == (2, 3)
    assert row["accepted"] == row["sent"] + row["dropped"] + row["in_flight"] + row["queued"]


def test_since_stays_while_retrying_and_moves_when_the_kind_changes():
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, state="connecting", since=100.0))
    table.record_status(report(1, state="waiting", since=101.0))
    table.record_status(report(1, state="connecting", since=102.5))
    row = table.device_row(DEVICE)
    assert row["since"] == 100.0
    assert row["state_since"] == 102.5
    table.record_status(report(1, state="ready", since=103.0))
    assert table.device_row(DEVICE)["since"] == 103.0
    table.record_status(report(1, state="waiting", since=110.0))
    table.record_status(report(1, state="connecting", since=111.0))
    assert table.device_row(DEVICE)["since"] == 110.0


def test_a_restarted_actor_that_is_still_down_keeps_down_since():
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, state="waiting", since=100.0))
    running(table, 2)
    table.record_status(report(2, state="connecting", since=300.0, at=300.0))
    assert table.device_row(DEVICE)["since"] == 100.0


def test_forget_drops_totals():
    table = StatusTable()
    table.record_status(report(1, sent=5))
    table.record_status(report(2, sent=1))
    table.forget("proj1")
    table.record_status(report(3, sent=2))
    running(table, 3)
    assert table.device_row(DEVICE)["sent"] == 2
