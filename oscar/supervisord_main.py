"""supervisord, with one change: at shutdown, programs of equal priority stop together.

Stock supervisord stops its process groups one at a time, waiting for each to exit. Every
device actor is a group of its own, so stopping 40 devices took 40 sequential stops (about
0.5 s each). Here every group sharing the priority of the next group to stop gets its SIGTERM
at once; priorities still order the batches (device actors first, then the web UI and the
listener, the registry last).

    python -m oscar.supervisord_main -n -c supervisord.conf
"""

from __future__ import annotations

from supervisor import supervisord


def _stop_phase_1(self) -> None:
    if self.stop_groups:
        priority = self.stop_groups[-1].config.priority
        for group in self.stop_groups:
            if group.config.priority == priority:
                group.stop_all()


def _stop_phase_2(self) -> None:
    # Drop every fully stopped group at the end of the queue (the stock version drops at most
    # one per pass of supervisord's loop, and a pass can wait a second for an event).
    while self.stop_groups and not self.stop_groups[-1].get_unstopped_processes():
        self.stop_groups.pop()


def patch() -> bool:
    """Install the batch stop; False (stock behaviour kept) if this supervisord differs."""
    cls = supervisord.Supervisor
    if not all(hasattr(cls, name) for name in ("ordered_stop_groups_phase_1",
                                               "ordered_stop_groups_phase_2")):
        return False
    cls.ordered_stop_groups_phase_1 = _stop_phase_1
    cls.ordered_stop_groups_phase_2 = _stop_phase_2
    return True


if __name__ == "__main__":
    patch()
    supervisord.main()
