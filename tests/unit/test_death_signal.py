"""A program started by our supervisord dies with it by the kernel's signal, asked for between
fork and exec (oscar.supervisord_main); the program then trusts that and does not ask again
(no ctypes). Elsewhere it asks itself (oscar.lifeline)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from oscar import lifeline
from tests.support import REPO, pid_alive, wait_for

# "supervisord": our patch installed, one child forked and run through the patched execve,
# as supervisord's own spawn does. The child prints its pid and what it was told, then sleeps.
SUPERVISOR = """
import os, sys, time
from supervisor.options import ServerOptions
from oscar import supervisord_main
assert supervisord_main.patch()["death_signal"]
if os.fork() == 0:
    program = ("import os; print(os.getpid(), os.environ.get(%r, ''), flush=True); "
               "import time; time.sleep(60)") % sys.argv[1]
    ServerOptions.execve(None, sys.executable, [sys.executable, "-c", program], dict(os.environ))
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_program_dies_when_supervisord_is_killed():
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, lifeline.PARENT_DEATH_ENV],
                                  cwd=REPO, stdout=subprocess.PIPE, text=True)
    pid = "0"
    try:
        assert supervisor.stdout is not None
        pid, told = supervisor.stdout.readline().split(" ")
        assert told.strip() == str(supervisor.pid)  # the program knows who asked, and for what
        supervisor.kill()  # kill -9: supervisord has no chance to stop its children
        supervisor.wait(timeout=10)
        # Nothing but the kernel can end the program now (it sleeps for a minute otherwise).
        wait_for(lambda: not pid_alive(int(pid)), timeout=10, message="the program to exit")
    finally:
        supervisor.kill()
        supervisor.wait(timeout=10)
        if int(pid) and pid_alive(int(pid)):
            os.kill(int(pid), signal.SIGKILL)  # the test failed: leave nothing behind


def test_the_program_believes_only_its_own_parent(monkeypatch):
    monkeypatch.setenv(lifeline.PARENT_DEATH_ENV, str(os.getppid()))
    assert lifeline.parent_set_death_signal()
    # Inherited by a grandchild, or copied into a hand-started program: not its parent's word.
    monkeypatch.setenv(lifeline.PARENT_DEATH_ENV, str(os.getpid()))
    assert not lifeline.parent_set_death_signal()
    monkeypatch.delenv(lifeline.PARENT_DEATH_ENV)
    assert not lifeline.parent_set_death_signal()


def test_a_program_started_by_our_supervisord_does_not_ask_again(monkeypatch):
    def ask(sig=signal.SIGTERM):
        raise AssertionError("asked the kernel again (and loaded ctypes to do it)")

    monkeypatch.setattr(lifeline, "set_parent_death_signal", ask)
    monkeypatch.setenv(lifeline.PARENT_DEATH_ENV, str(os.getppid()))
    line = lifeline.Lifeline("oscar-test", 10.0, check_every=3600.0)
    try:
        assert line.pdeathsig  # the watchdog need not poll getppid() every second
    finally:
        line.stop()
        line.join(5)


def test_a_program_started_otherwise_asks_itself(monkeypatch):
    asked = []
    monkeypatch.setattr(lifeline, "set_parent_death_signal", lambda: asked.append(1) or True)
    monkeypatch.delenv(lifeline.PARENT_DEATH_ENV, raising=False)
    line = lifeline.Lifeline("oscar-test", 10.0, check_every=3600.0)
    try:
        assert line.pdeathsig and asked == [1]
    finally:
        line.stop()
        line.join(5)
