"""The reconciler's read of program states (oscar/reconciler.py) with a stand-in for supervisord:
what the status table is told, and when it counts as true."""

from __future__ import annotations

import time

from oscar.reconciler import Reconciler
from oscar.status_table import StatusTable
from oscar.supervisor_client import ProcessChanges, SupervisorError
from tests.support import wait_for


class SlowSupervisord:
    """Programs' read, answering as of the moment it is asked, arriving later."""

    rings = True

    def __init__(self, fail: bool = False):
        self.asked_at: list[float] = []
        self.fail = fail

    def process_changes(self, doorbell: str = "") -> ProcessChanges:
        self.asked_at.append(time.time())
        time.sleep(0.05)  # supervisord busy: the answer arrives after it was written
        if self.fail:
            raise SupervisorError("supervisord not reachable at /x.sock: refused")
        return ProcessChanges(True, [{"name": "oscar-device-a", "group": "oscar-device-a",
                                      "pid": 7, "statename": "RUNNING"}], [])

    def kept_socket(self):
        return None

    def close(self) -> None:
        pass


def run_once(programs) -> StatusTable:
    table = StatusTable()
    reconciler = Reconciler(programs, table, safety_read=600)
    reconciler.start()
    try:
        wait_for(lambda: programs.asked_at, message="a read")
        wait_for(lambda: table.processes_at or table.supervisor_error, message="its answer")
    finally:
        reconciler.stop()
        reconciler.join(timeout=5)
    return table


def test_the_table_is_true_as_of_the_question_not_the_answers_arrival():
    # A report an actor sent while the answer was on its way must not look older than it.
    programs = SlowSupervisord()
    table = run_once(programs)
    assert table.processes["oscar-device-a"]["pid"] == 7
    assert 0 < table.processes_at <= programs.asked_at[0]


def test_a_failed_read_is_reported_and_claims_nothing():
    table = run_once(SlowSupervisord(fail=True))
    assert "not reachable" in table.supervisor_error
    assert table.processes_at == 0.0 and table.processes == {}
