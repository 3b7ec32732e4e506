"""Device totals survive a registry restart through run/totals.json, and a damaged file costs
the totals, never the registry."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from oscar import totals_file
from oscar.status_table import StatusTable
from tests.unit.test_status_totals import DEVICE, report, running


def restarted(table: StatusTable, tmp_path) -> StatusTable:
    """What a new registry sees: the file the old one left, nothing else."""
    path = tmp_path / "totals.json"
    totals_file.save(path, table.totals_state())
    again = StatusTable()
    again.load_totals(totals_file.load(path))
    return again


def test_totals_continue_when_the_same_actor_run_reports_to_a_new_registry(tmp_path):
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, sent=5))
    running(table, 2)
    table.record_status(report(2, sent=3, at=300.0))
    again = restarted(table, tmp_path)
    running(again, 2)
    again.record_status(report(2, sent=4, at=400.0))  # the same run goes on
    row = again.device_row(DEVICE)
    assert row["sent"] == 9 and row["run"]["sent"] == 4
    assert row["accepted"] == row["sent"] + row["dropped"] + row["in_flight"] + row["queued"]


def test_a_run_that_ended_while_the_registry_was_down_is_added_up_once(tmp_path):
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, sent=5, in_flight=1))
    again = restarted(table, tmp_path)
    running(again, 7)
    again.record_status(report(7, sent=2, at=400.0))
    again.record_status(report(1, sent=5, in_flight=1, at=401.0))  # a late word: not again
    row = again.device_row(DEVICE)
    assert (row["sent"], row["dropped"]) == (7, 1)


def test_a_reset_survives_a_registry_restart(tmp_path):
    table = StatusTable()
    running(table, 1)
    table.record_status(report(1, sent=5, dropped=2))
    table.reset("proj1", now=500.0)
    again = restarted(table, tmp_path)
    running(again, 1)
    again.record_status(report(1, sent=6, dropped=2, at=600.0))
    row = again.device_row(DEVICE)
    assert (row["sent"], row["dropped"], row["totals_since"]) == (1, 0, 500.0)


def test_a_missing_or_damaged_file_means_fresh_totals(tmp_path):
    path = tmp_path / "totals.json"
    assert totals_file.load(path) == {}
    for text in ("", "{", "[]", '{"proj1": 3}', '{"proj1": {"base": {"sent": "x"}}}',
                 '{"proj1": {"base": {}, "since": NaN}}', "\udcff"):
        path.write_text(text, errors="surrogateescape")
        assert totals_file.load(path) == {}, text


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=30))
def test_parse_raises_only_its_own_error(value):
    try:
        state = totals_file.parse(json.dumps(value))
    except totals_file.TotalsFileError:
        return
    StatusTable().load_totals(state)  # whatever parse accepts, the table takes
