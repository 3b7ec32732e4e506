"""A process's lifeline: it dies with its parent, and it restarts itself when its loop stalls.

Two failures a poll loop cannot notice from inside:

- **A stalled loop.** A decoder that spins, a blocking call that never returns: the process
  stays RUNNING in supervisord while doing nothing. The loop calls ``beat()`` once per turn; a
  watchdog thread that sees no beat for ``stall_after`` seconds logs one CRITICAL line (process,
  stall time, the main thread's stack) and ends the process with ``os._exit``. supervisord
  (``autorestart=true``) starts a fresh one.
- **A dead parent.** supervisord killed with ``kill -9`` leaves its children running, and the
  next ``oscar run`` would start a second set beside them. On Linux the kernel sends SIGTERM to
  the child when its parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere the watchdog thread
  also notices that ``os.getppid()`` changed and sends the process SIGTERM itself. SIGTERM takes
  the process's normal clean shutdown path. Our supervisord (``oscar.supervisord_main``) asks
  for that signal in each child before it runs the program and says so in
  ``OSCAR_PARENT_DEATH_SIGNAL`` (its pid): the program then need not import ``ctypes`` (0.4 MB
  and some 7 M instructions in every actor) to ask again.

Every poll timeout of a loop that beats must stay well below ``stall_after``: at most
``max_wait``. The watchdog sleeps until the moment a stall could first be seen (the last beat
plus ``stall_after``), so a loop that beats costs it about one wake-up per ``stall_after``,
not one per second; where the kernel cannot signal a dead parent it looks every
``check_every`` too. A process stopped as a whole (SIGSTOP, a debugger) is not a stall: the
watchdog notices that it was itself held up and starts counting again. A hang inside C code
that never releases the GIL stops the watchdog thread too and is not caught; Python code that
spins (a decoder looping) is.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_STALL_AFTER = 10.0
STALL_ENV = "OSCAR_STALL_AFTER"  # seconds; tests set it low
STALL_EXIT_CODE = 70  # EX_SOFTWARE: supervisord logs it as an unexpected exit and restarts
MAX_WAIT_SHARE = 0.6  # of stall_after: the longest poll of a loop that beats (max_wait)
STARTUP_GRACE = 20.0  # extra time before the first beat: opening a store, binding sockets
ORPHAN_GRACE = 5.0  # after SIGTERM to ourselves, how long a clean shutdown may take
LONGEST_SLEEP = 3600.0  # the watchdog's sleep when nothing can stall (stall_after infinite)
STACK_LIMIT = 2000  # characters of the stalled thread's stack in the log line
PR_SET_PDEATHSIG = 1
# Set by our supervisord for a program it started with the death signal already asked for:
# the value is supervisord's pid, believed only while that is still our parent.
PARENT_DEATH_ENV = "OSCAR_PARENT_DEATH_SIGNAL"
# TEST ONLY: the listener stalls for good on a UDP packet whose OSC address is this value.
TEST_STALL_ENV = "OSCAR_TEST_STALL_ON"


def stall_after_from_env(default: float = DEFAULT_STALL_AFTER) -> float:
    raw = os.environ.get(STALL_ENV, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        log.warning("ignoring %s=%r: not a number of seconds", STALL_ENV, raw[:40])
        return default
    return value if value > 0 else default


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask the Linux kernel to send ``sig`` to this process when its parent dies. False where
    that is not available (the getppid() check in the watchdog covers it)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # here: a program whose supervisord asked already never loads it

        # The process's own symbols include libc's; ctypes.util.find_library would import
        # shutil, subprocess and the compressors (about 1 MB in every process) to find it.
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def parent_set_death_signal() -> bool:
    """Our supervisord asked the kernel for this process's death signal before starting it
    (and is still our parent)."""
    return os.environ.get(PARENT_DEATH_ENV) == str(os.getppid())


def stall_marker_for_tests() -> bytes | None:
    """TEST ONLY. With ``OSCAR_TEST_STALL_ON=/stall`` in the environment, the OSC packet
    prefix (address plus its NUL) that makes the listener stall; None otherwise."""
    address = os.environ.get(TEST_STALL_ENV, "")
    return address.encode() + b"\0" if address.startswith("/") else None


def stall_forever() -> None:
    """TEST ONLY: what a hung decoder looks like from outside (SIGTERM does not end it)."""
    log.warning("%s: stalling on purpose (test hook)", TEST_STALL_ENV)
    while True:
        time.sleep(3600)


def _main_stack(limit: int = STACK_LIMIT) -> str:
    frame = sys._current_frames().get(threading.main_thread().ident or -1)
    if frame is None:
        return "(main thread stack not available)"
    text = "".join(traceback.format_stack(frame)).rstrip()
    return text if len(text) <= limit else "..." + text[-limit:]  # the innermost frames matter


class Lifeline:
    def __init__(self, process: str, stall_after: float | None = None, *,
                 exit: Callable[[int], object] = os._exit,
                 kill: Callable[[int, int], object] = os.kill,
                 getppid: Callable[[], int] = os.getppid,
                 clock: Callable[[], float] = time.monotonic,
                 check_every: float | None = None,
                 startup_grace: float = STARTUP_GRACE,
                 parent_death_signal: bool = True):
        self.process = process
        self.stall_after = stall_after_from_env() if stall_after is None else stall_after
        self._exit = exit
        self._kill = kill
        self._getppid = getppid
        self._clock = clock
        self.last_beat = clock() + startup_grace
        self.stalled = False
        self.orphaned = False
        self._orphaned_at = 0.0
        self._stop = threading.Event()
        self._check_every = check_every or min(1.0, max(self.stall_after / 4, 0.01))
        self._planned = self._check_every  # how long the watchdog meant to sleep last time
        self._last_check = clock()
        self.pdeathsig = parent_death_signal and (parent_set_death_signal()
                                                  or set_parent_death_signal())
        self._parent = getppid()
        self._thread = threading.Thread(target=self._watch, name=f"lifeline-{process}",
                                        daemon=True)
        self._thread.start()

    @property
    def max_wait(self) -> float:
        """The longest a loop that beats may wait in one poll (seconds). With the default 10 s
        that is 6 s: longer than the registry's 5 s beacon, so an idle actor wakes only for the
        beacon, and 4 s short of a stall."""
        return self.stall_after * MAX_WAIT_SHARE

    def beat(self) -> None:
        """Called once per loop turn: proof the loop still turns."""
        self.last_beat = self._clock()

    def stop(self) -> None:
        """The loop is ending on purpose (shutdown may take longer than stall_after)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _watch(self) -> None:
        while not self._stop.wait(self._next_wait()):
            try:
                self.check()
            except Exception:  # the watchdog must never die quietly
                log.exception("lifeline check failed")

    def _next_wait(self) -> float:
        """Sleep until a stall could first be seen; at least check_every, and no longer than
        that while the parent must be watched by asking getppid()."""
        wait = self._check_every
        if self.pdeathsig and not self.orphaned:
            # In the start-up grace last_beat lies ahead, but the first beat may come at any
            # moment and bring it back: never sleep past now + stall_after.
            now = self._clock()
            wait = max(wait, min(self.last_beat, now) + self.stall_after - now)
        self._planned = wait = min(wait, LONGEST_SLEEP)
        return wait

    def check(self) -> None:
        """One look at the loop and the parent (the watchdog thread calls it)."""
        now = self._clock()
        if self._stop.is_set():
            return
        late, self._last_check = now - self._last_check - self._planned, now
        if late > self.stall_after / 2:
            # This thread did not run either: the whole process was stopped (SIGSTOP, a
            # debugger, a suspended VM) or starved of CPU. Not the loop's fault: new chance.
            log.warning("%s: watchdog itself ran %.1fs late; not counting that as a stall",
                        self.process, late)
            self.last_beat = max(self.last_beat, now)
            return
        if self._getppid() != self._parent:
            if not self.orphaned:
                self.orphaned, self._orphaned_at = True, now
                log.warning("%s: parent process %d is gone (supervisord died?); shutting down",
                            self.process, self._parent)
                self._kill(os.getpid(), signal.SIGTERM)
            elif now - self._orphaned_at > ORPHAN_GRACE:
                log.critical("%s: orphaned and still running %.0fs after SIGTERM; exiting",
                             self.process, now - self._orphaned_at)
                self._die()
                return
        stalled_for = now - self.last_beat
        if stalled_for >= self.stall_after and not self.stalled:
            self.stalled = True
            log.critical("%s: main loop stalled for %.1fs (limit %gs); exiting so supervisord "
                         "restarts it. Main thread stack:\n%s", self.process, stalled_for,
                         self.stall_after, _main_stack())
            self._die()

    def _die(self) -> None:
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:
                pass
        self._stop.set()
        self._exit(STALL_EXIT_CODE)


def follow_parent(process: str) -> Lifeline:
    """For a process with no loop of its own to beat (the web server): die with the parent
    only. Its stall limit is effectively off."""
    lifeline = Lifeline(process, stall_after=float("inf"), check_every=1.0)
    return lifeline


def exit_now(code: int) -> None:
    """End the process right after its clean shutdown (sockets closed, context terminated):
    flush the logs and standard streams, then skip the interpreter's teardown. That teardown
    costs about 0.1 s of CPU per process, which adds up when 40 actors stop together."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)
