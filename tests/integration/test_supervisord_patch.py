"""Our supervisord (oscar.supervisord_main, oscar.supervisor_rpc) against the stock one: a real
supervisord with one small program in a temp folder, no Oscar around it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from oscar import settings as settings_mod
from oscar.supervisor_client import Programs, TimedSupervisorTransport
from tests.support import pid_alive, wait_for

OURS = [sys.executable, "-m", "oscar.supervisord_main"]
STOCK = [sys.executable, "-m", "supervisor.supervisord"]
OSCAR_NAMESPACE = """[rpcinterface:oscar]
supervisor.rpcinterface_factory = oscar.supervisor_rpc:make_rpcinterface"""
# The child notes its pid (in a file, not on its output: output would wake supervisord's loop).
CONFIG = """\
[unix_http_server]
file={socket}

[supervisord]
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

{oscar_namespace}

[program:child]
command=/bin/sh -c 'echo $$ >> %(here)s/pids; exec sleep 600'
startsecs=0
autorestart=true
stopwaitsecs=5
"""


class Supervisord:
    def __init__(self, folder: Path, socket: Path):
        self.folder = folder
        self.socket = socket

    def pids(self) -> list[int]:
        path = self.folder / "pids"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def rpc(self) -> xmlrpc.client.ServerProxy:
        transport = TimedSupervisorTransport(str(self.socket), 5.0)
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def kill_child_and_time_restart(self) -> float:
        """kill -9 the child; seconds until its successor has started."""
        pids = self.pids()
        killed = time.monotonic()
        os.kill(pids[-1], signal.SIGKILL)
        wait_for(lambda: len(self.pids()) > len(pids), timeout=10, interval=0.002,
                 message="the child to be restarted")
        return time.monotonic() - killed


@contextmanager
def supervisord(argv: list[str], folder: Path, socket: Path | None = None,
                oscar_namespace: bool = True) -> Iterator[Supervisord]:
    folder.mkdir(exist_ok=True)
    socket = socket or folder / "s.sock"
    (folder / "supervisord.conf").write_text(CONFIG.format(
        socket=socket, oscar_namespace=OSCAR_NAMESPACE if oscar_namespace else ""))
    proc = subprocess.Popen([*argv, "-c", str(folder / "supervisord.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    running = Supervisord(folder, socket)
    try:
        wait_for(lambda: running.pids(), timeout=20, message="supervisord to start its child")
        time.sleep(0.3)  # whatever start-up woke its loop is over
        yield running
    finally:
        children = running.pids()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pid in children:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not any(pid_alive(pid) for pid in children), message="children gone")


def test_a_killed_program_is_restarted_at_once_where_stock_supervisord_waits(tmp_path):
    with supervisord(OURS, tmp_path / "ours") as ours:
        # Each restart comes in milliseconds; a window wide enough for a loaded machine.
        restarts = [ours.kill_child_and_time_restart() for _ in range(3)]
    assert max(restarts) < 0.5, restarts
    with supervisord(STOCK, tmp_path / "stock") as stock:
        # Stock: reaped in the pass the closed pipes wake, restarted one poll (1 s) later.
        stock_restart = stock.kill_child_and_time_restart()
    assert stock_restart > max(restarts)


def test_process_info_comes_only_when_a_state_changed(tmp_path):
    with supervisord(OURS, tmp_path / "ours") as ours:
        rpc = ours.rpc()
        first = rpc.oscar.getAllProcessInfoSince("")
        assert first["changed"] is True
        assert [(p["name"], p["pid"]) for p in first["processes"]] == [("child", ours.pids()[-1])]
        unchanged = rpc.oscar.getAllProcessInfoSince(first["token"])
        assert unchanged == {"token": first["token"], "changed": False, "processes": []}
        ours.kill_child_and_time_restart()
        wait_for(lambda: rpc.supervisor.getProcessInfo("child")["pid"] == ours.pids()[-1],
                 message="the new child RUNNING")
        again = rpc.oscar.getAllProcessInfoSince(first["token"])
        assert again["changed"] is True and again["token"] != first["token"]
        assert again["processes"][0]["pid"] == ours.pids()[-1]
        # A token from another supervisord run (or none) always gets everything.
        assert rpc.oscar.getAllProcessInfoSince("0:0")["changed"] is True


def test_a_program_stopped_on_purpose_stays_stopped(tmp_path):
    with supervisord(OURS, tmp_path / "ours") as ours:
        pid = ours.pids()[-1]
        rpc = ours.rpc()
        rpc.supervisor.stopProcess("child")  # waits until it is reaped
        assert not pid_alive(pid)
        time.sleep(0.3)  # several passes of its loop: long enough for a wrong restart
        assert rpc.supervisor.getProcessInfo("child")["statename"] == "STOPPED"
        assert len(ours.pids()) == 1


@pytest.fixture
def settings():
    home = Path(tempfile.mkdtemp(prefix="osc-", dir="/tmp"))  # short: a unix socket path
    loaded = settings_mod.load({"OSCAR_HOME": str(home)})
    loaded.ensure_dirs()
    yield loaded
    shutil.rmtree(home, ignore_errors=True)


def test_the_registry_reads_program_states_again_only_after_a_change(tmp_path, settings):
    programs = Programs(settings, timeout=5)
    try:
        with supervisord(OURS, tmp_path / "one", settings.supervisor_socket) as ours:
            first = programs.changed_process_info()
            assert [(p["name"], p["pid"]) for p in first] == [("child", ours.pids()[-1])]
            assert programs.changed_process_info() is None
            ours.kill_child_and_time_restart()
            changed = wait_for(programs.changed_process_info, message="a change")
            assert changed[0]["pid"] == ours.pids()[-1]
        # supervisord restarted: the kept connection is gone, the new run's states come whole.
        with supervisord(OURS, tmp_path / "two", settings.supervisor_socket) as again:
            assert [p["pid"] for p in programs.changed_process_info()] == [again.pids()[-1]]
    finally:
        programs.close()


def test_without_our_namespace_every_read_brings_every_state(tmp_path, settings):
    programs = Programs(settings, timeout=5)
    try:
        with supervisord(STOCK, tmp_path / "stock", settings.supervisor_socket,
                         oscar_namespace=False) as stock:
            for _ in range(2):
                assert [p["pid"] for p in programs.changed_process_info()] == [stock.pids()[-1]]
    finally:
        programs.close()
