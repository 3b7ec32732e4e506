"""A pipe that every signal writes to (``signal.set_wakeup_fd``), for a loop that sleeps in
long polls: Python resumes a poll a signal interrupted for the rest of its timeout (PEP 475),
so without it a SIGTERM would wait for the timeout. Poll the read end for readable, then
``drain`` it. One per process: a later ``pipe()`` takes the signals over."""

from __future__ import annotations

import os
import signal


def pipe() -> int:
    """The read end of a new pipe that each signal writes to."""
    read_end, write_end = os.pipe()
    for fd in (read_end, write_end):
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    return read_end


def drain(fd: int) -> None:
    """Read what the signals wrote, so the pipe is quiet until the next one (or all that
    waits on any other non-blocking descriptor: oscar.reconciler's wake-up sockets)."""
    try:
        while os.read(fd, 512):
            pass
    except OSError:  # BlockingIOError: empty
        pass
