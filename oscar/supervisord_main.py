"""supervisord, with two changes.

- At shutdown, programs of equal priority stop together. Stock supervisord stops its process
  groups one at a time, waiting for each to exit. Every device actor is a group of its own, so
  stopping 40 devices took 40 sequential stops (about 0.5 s each). Here every group sharing the
  priority of the next group to stop gets its SIGTERM at once; priorities still order the
  batches (device actors first, then the web UI and the listener, the registry last).
- A program that exits and is to be restarted (``autorestart``) starts again at once. Stock
  supervisord's loop polls its file descriptors with a one-second timeout, and a pass restarts
  (``transition``) before it reaps (``reap``): a child that dies is reaped in the pass its
  closed pipes wake, but restarted only in the next pass, up to a second later when nothing
  else wakes the loop (an actor killed with ``kill -9`` was back after 0.8 s on average).
  Here the poll after a reap that found a child does not wait, and while a child's pipes are
  closed but the kernel has not yet made it reapable, the loop polls every 10 ms (for at most
  a second).
- An idle supervisord sleeps. The stock loop wakes every second for its timers (a program
  STARTING, BACKOFF or STOPPING); a pass over 100 programs costs about 1.5 ms. While no
  program is in such a state (and no event listener wants TICK events) it waits up to
  IDLE_POLL; a signal (SIGTERM, SIGCHLD...) ends the wait at once through a wake-up pipe
  (Python resumes an interrupted poll, so the stock loop noticed a signal only at its next
  one-second timeout).

    python -m oscar.supervisord_main -n -c supervisord.conf
"""

from __future__ import annotations

import inspect
import time

from supervisor import process as supervisor_process
from supervisor import supervisord
from supervisor.states import ProcessStates, SupervisorStates

from oscar import signal_wakeup

ENDING_POLL = 0.01  # seconds: poll timeout while a child has closed its pipes, not yet reaped
ENDING_FOR = 1.0  # seconds: at most this long per child (one that closes its pipes and lives on)
IDLE_POLL = 5.0  # seconds: the loop's timeout while no program has a timer running
TIMED_STATES = frozenset((ProcessStates.STARTING, ProcessStates.BACKOFF,
                          ProcessStates.STOPPING))


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


_stock_reap = supervisord.Supervisor.reap
_stock_runforever = supervisord.Supervisor.runforever


def _reap(self, once=False, recursionguard=0) -> None:
    # The stock reap calls itself once per child it finds: only the outermost call looks.
    known = len(self.options.pidhistory)
    _stock_reap(self, once, recursionguard)
    if recursionguard == 0 and len(self.options.pidhistory) < known:
        self.oscar_reaped = True  # the next pass restarts it: don't let its poll wait


def _ending_children(self) -> list[int]:
    """Pids of children whose output pipes are all closed: exiting, not reaped yet."""
    return [process.pid for group in self.process_groups.values()
            for process in group.processes.values()
            if process.pid and process.dispatchers
            and not any(d.readable() for d in process.dispatchers.values())]


def _idle(self) -> bool:
    """No timer of supervisord's can be due: running normally, no XML-RPC answer deferred,
    only plain process groups, no program starting, backing off or stopping."""
    if self.options.mood < SupervisorStates.RUNNING:
        return False
    for dispatcher in self.options.get_socket_map().values():
        if getattr(dispatcher, "delay", 0):
            return False  # a deferred answer (start/stop with wait) is looked at each turn
    for group in self.process_groups.values():
        if not isinstance(group, supervisor_process.ProcessGroup):
            return False  # an event listener pool wants its TICK events on time
        for proc in group.processes.values():
            state = proc.get_state()
            if state in TIMED_STATES:
                return False
            if state == ProcessStates.STOPPED and proc.config.autostart and not proc.laststart:
                return False  # just added: the next pass starts it
    return True


def _poll_timeout(self, timeout: float) -> float:
    if self.oscar_reaped:
        self.oscar_reaped = False
        return 0
    if not (self.oscar_woken or self.oscar_ending):
        # nothing woke the last poll: no pipe can have closed since
        return IDLE_POLL if _idle(self) else timeout
    now = time.monotonic()
    ending = {pid: self.oscar_ending.get(pid, now) for pid in _ending_children(self)}
    self.oscar_ending = ending
    if any(now - since < ENDING_FOR for since in ending.values()):
        return min(timeout, ENDING_POLL)
    return IDLE_POLL if not ending and _idle(self) else timeout


def _runforever(self) -> None:
    self.oscar_reaped = self.oscar_woken = False
    self.oscar_ending = {}
    poller = self.options.poller
    stock_poll = poller.poll
    woken = signal_wakeup.pipe()

    def poll(timeout: float) -> tuple[list[int], list[int]]:
        poller.register_readable(woken)
        readable, writable = stock_poll(_poll_timeout(self, timeout))
        if woken in readable:  # a signal: the loop's pass handles it now
            signal_wakeup.drain(woken)
            readable = [fd for fd in readable if fd != woken]
        self.oscar_woken = bool(readable or writable)
        return readable, writable

    poller.poll = poll
    try:
        _stock_runforever(self)
    finally:
        del poller.poll  # the instance attribute: the class's poll again


def _restart_internals_known() -> bool:
    """The restart patch relies on the stock loop polling through ``options.poller.poll`` and
    on ``reap(once, recursionguard)`` calling itself per child: checked, not assumed."""
    try:
        loop = inspect.getsource(supervisord.Supervisor.runforever)
        reap = inspect.signature(supervisord.Supervisor.reap)
    except (OSError, TypeError, ValueError):
        return False
    return (".options.poller.poll(timeout)" in loop
            and list(reap.parameters) == ["self", "once", "recursionguard"])


def patch() -> dict[str, bool]:
    """Install both changes; each that does not fit this supervisord is left out (stock
    behaviour kept). Returns which were installed."""
    cls = supervisord.Supervisor
    installed = {"batch_stop": False, "restart_at_once": False}
    if all(hasattr(cls, name) for name in ("ordered_stop_groups_phase_1",
                                           "ordered_stop_groups_phase_2")):
        cls.ordered_stop_groups_phase_1 = _stop_phase_1
        cls.ordered_stop_groups_phase_2 = _stop_phase_2
        installed["batch_stop"] = True
    if _restart_internals_known():
        cls.reap = _reap
        cls.runforever = _runforever
        installed["restart_at_once"] = True
    return installed


if __name__ == "__main__":
    patch()
    supervisord.main()
