"""A stop signal ends a long idle wait: an interrupted poll is otherwise resumed for the rest of
its timeout (PEP 475), and an idle actor waits up to 6 s."""

from __future__ import annotations

import os
import subprocess
import sys

from oscar.event_poll import Poller

STOP_IN_A_LONG_POLL = """
import os, signal, threading
from oscar import zmqutil
from oscar.event_poll import Poller
stop = zmqutil.StopFlag()
poller = Poller()
poller.wake_on(stop.wakeup(), stop.drain)
threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
ready = poller.poll(60_000)
print("stopped" if stop.stop else "not stopped", ready)
"""


def test_the_wake_up_descriptor_ends_a_poll_and_is_never_reported():
    read_end, write_end = os.pipe()
    drained = []
    poller = Poller()
    try:
        poller.wake_on(read_end, lambda: drained.append(os.read(read_end, 64)))
        os.write(write_end, b"\x0f")
        assert poller.poll(60_000) == []
        assert drained == [b"\x0f"]
    finally:
        poller.close()
        os.close(read_end)
        os.close(write_end)


def test_sigterm_ends_a_long_poll_at_once():
    done = subprocess.run([sys.executable, "-c", STOP_IN_A_LONG_POLL], capture_output=True,
                          text=True, timeout=30)
    assert done.stdout.strip() == "stopped []", done.stderr
