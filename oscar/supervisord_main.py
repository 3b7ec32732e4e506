"""supervisord, with these changes.

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
- Each program dies with supervisord. Between fork and exec the child asks the Linux kernel
  for SIGTERM when supervisord dies (``PR_SET_PDEATHSIG``) and tells the program so
  (``oscar.lifeline.PARENT_DEATH_ENV``), which then need not load ``ctypes`` to ask itself.

    python -m oscar.supervisord_main -n -c supervisord.conf
"""

from __future__ import annotations

import inspect
import os
import time

from supervisor import options as supervisor_options
from supervisor import process as supervisor_process
from supervisor import supervisord
from supervisor.states import ProcessStates, SupervisorStates

from oscar import lifeline, signal_wakeup

ENDING_POLL = 0.01  # seconds: poll timeout while a child has closed its pipes, not yet reaped
ENDING_FOR = 1.0  # seconds: at most this long per child (one that closes its pipes and lives on)
# seconds: the loop's timeout while no program has a timer running. Longer than the
# registry's safety read of program states (oscar/reconciler.py, 5 s), which wakes an idle
# supervisord anyway: then that read is its only wake-up.
IDLE_POLL = 10.0
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


_stock_execve = supervisor_options.ServerOptions.execve
_supervisord_pid = 0  # set by patch(): the process whose children get the death signal


def _execve(self, filename: str, argv: list[str], env: dict[str, str]) -> None:
    # In the child, after supervisord's setuid (a change of user clears the setting) and just
    # before the program runs: SIGTERM when supervisord dies (oscar.lifeline), and the word
    # that it is set. A daemonized supervisord (not -n) has another pid: the program asks
    # for itself, as it would under a stock supervisord.
    if os.getppid() == _supervisord_pid and lifeline.set_parent_death_signal():
        if os.getppid() != _supervisord_pid:
            os._exit(1)  # supervisord died a moment ago: no one would ever stop this program
        env[lifeline.PARENT_DEATH_ENV] = str(_supervisord_pid)
    _stock_execve(self, filename, argv, env)


def patch() -> dict[str, bool]:
    """Install the changes; each that does not fit this supervisord is left out (stock
    behaviour kept). Returns which were installed."""
    global _supervisord_pid
    cls = supervisord.Supervisor
    installed = {"batch_stop": False, "restart_at_once": False, "death_signal": False}
    if set(inspect.signature(_stock_execve).parameters) == {"self", "filename", "argv", "env"}:
        import ctypes  # noqa: F401  loaded here once, not again in each child before its exec

        _supervisord_pid = os.getpid()
        supervisor_options.ServerOptions.execve = _execve
        installed["death_signal"] = True
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
