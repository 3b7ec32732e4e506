"""One OSCAR_HOME runs one Oscar: orphans exit with supervisord, `oscar run` refuses beside a
running one, `oscar stop` ends everything and leaves no socket file, and shutdown is quick."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oscar import lifeline, proc_scan
from tests.support import (
    REPO,
    OscarSystem,
    free_port,
    osc_message,
    pid_alive,
    stop_and_clean,
    wait_for,
)

SHUTDOWN_LIMIT = 5.0  # seconds, for 40 devices (issue 6)


@pytest.fixture
def system(request):
    system = OscarSystem()
    try:
        yield system
    finally:
        stop_and_clean(system, request)


def actors(system: OscarSystem) -> dict[str, list[int]]:
    """Device name -> pids of every live actor process of this OSCAR_HOME (supervised or not)."""
    found: dict[str, list[int]] = {}
    for proc in proc_scan.scan(system.home):
        if "oscar.processes.device_actor" in proc.command:
            found.setdefault(proc.command.split()[-1], []).append(proc.pid)
    return found


def program_pids(system: OscarSystem) -> list[int]:
    return [info["pid"] for info in system.processes().values() if info["pid"]]


def socket_files(system: OscarSystem) -> list[str]:
    return [str(path) for path in system.settings.run_dir.rglob("*")
            if stat.S_ISSOCK(path.lstat().st_mode)]


def told_of_death_signal(pid: int, supervisord: int) -> bool:
    """Linux: our supervisord asked the kernel to end this program when supervisord dies (the
    program's environment says so)."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return f"{lifeline.PARENT_DEATH_ENV}={supervisord}".encode() in environ


def loaded_ctypes(pid: int) -> bool:
    return "_ctypes" in Path(f"/proc/{pid}/maps").read_text()


def test_supervisord_killed_then_run_again_gives_one_actor_per_device(system, device):
    system.start()
    system.add_device("proj1", device.port)
    system.add_device("proj2", free_port())  # nothing listens there: an actor that retries
    system.wait_state("proj1", "ready")
    system.wait_state("proj2", "waiting")  # both actors fully started
    children = program_pids(system)
    assert len(children) == 5  # registry, listener, web, two actors
    if sys.platform.startswith("linux"):
        assert all(told_of_death_signal(pid, system.proc.pid) for pid in children)
        # so an actor need not load ctypes (0.4 MB in each of them) to ask for it itself
        assert not any(loaded_ctypes(pid) for pids in actors(system).values() for pid in pids)

    killed_at = time.monotonic()
    os.kill(system.proc.pid, signal.SIGKILL)
    system.proc.wait(timeout=10)
    wait_for(lambda: not any(pid_alive(pid) for pid in children), timeout=15,
             message="every child of the killed supervisord to exit")
    print(f"children gone {time.monotonic() - killed_at:.2f}s after supervisord's kill -9")
    assert proc_scan.scan(system.home) == []
    # Each child removed the socket files it bound; only the dead supervisord's remains.
    assert socket_files(system) == [str(system.settings.supervisor_socket)]

    system.start()  # `oscar run` again, same OSCAR_HOME (it removes the stale socket)
    for name in ("proj1", "proj2"):
        wait_for(lambda n=name: system.program_state(f"oscar-device-{n}") == "RUNNING",
                 timeout=30, message=f"oscar-device-{name} RUNNING")
    time.sleep(1.0)  # a duplicate would have had time to show up by now
    assert {name: len(pids) for name, pids in actors(system).items()} == {"proj1": 1, "proj2": 1}
    system.wait_state("proj1", "ready")
    system.send_udp(osc_message("/device/proj1/message", "after restart"))
    wait_for(lambda: b"after restart" in device.lines(), timeout=15, message="cue to arrive")


def test_run_refuses_while_running_and_stop_ends_everything(system):
    system.start()
    system.add_device("proj1", free_port())
    supervisord = system.proc.pid

    second = system.cli("run")
    assert second.returncode != 0
    assert "already running" in second.stderr and "oscar stop" in second.stderr
    assert str(supervisord) in second.stderr
    assert [p.pid for p in proc_scan.scan(system.home) if p.is_supervisord] == [supervisord]

    children = program_pids(system)
    stopped = system.cli("stop", timeout=90)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "Oscar stopped" in stopped.stdout
    assert system.proc.wait(timeout=10) == 0
    assert not any(pid_alive(pid) for pid in [supervisord, *children])
    assert proc_scan.scan(system.home) == []
    assert socket_files(system) == []
    assert not (system.settings.run_dir / "supervisord.pid").exists()

    again = system.cli("stop")
    assert again.returncode == 3 and "not running" in again.stdout


def test_leftover_program_blocks_run_until_oscar_stop_ends_it(system):
    # An actor that outlived its supervisord (say, a hung one on a system without parent-death
    # signals): started by hand with this OSCAR_HOME, its parent is this test, not supervisord.
    system.settings.ensure_dirs()
    ghost = subprocess.Popen([sys.executable, "-m", "oscar.processes.device_actor", "ghost"],
                             cwd=REPO, env=system.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    system.pids.add(ghost.pid)
    try:
        wait_for(lambda: actors(system).get("ghost"), timeout=15, message="ghost actor")
        refused = system.cli("run")
        assert refused.returncode != 0
        assert "still alive" in refused.stderr and f"pid {ghost.pid}" in refused.stderr
        assert "oscar stop" in refused.stderr

        stopped = system.cli("stop", timeout=60)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert "orphaned" in stopped.stdout and str(ghost.pid) in stopped.stdout
        assert ghost.wait(timeout=10) is not None
        assert socket_files(system) == []
    finally:
        if ghost.poll() is None:
            ghost.kill()
            ghost.wait()


def test_forty_devices_shut_down_in_under_five_seconds(system):
    system.start()
    devices = [{"name": f"d{i:02}", "host": "127.0.0.1", "port": free_port()} for i in range(40)]
    system.call("import", data={"format": "oscar-devices", "version": 1, "devices": devices})

    def running() -> int:
        return sum(1 for name, info in system.processes().items()
                   if name.startswith("oscar-device-") and info["statename"] == "RUNNING")

    wait_for(lambda: running() == 40, timeout=180, interval=0.5, message="40 actors RUNNING")

    def reporting() -> int:  # started up for good: each actor has reported its state
        rows = system.call("status")["devices"]
        return sum(1 for row in rows if row.get("pid") and row["pid"] == row["process_pid"])

    wait_for(lambda: reporting() == 40, timeout=60, interval=0.5, message="40 actors reporting")
    children = program_pids(system)
    assert len(children) == 43

    started = time.monotonic()
    stopped = system.cli("stop", timeout=90)
    took = time.monotonic() - started
    print(f"oscar stop with 40 devices took {took:.2f}s")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not any(pid_alive(pid) for pid in children)
    assert took < SHUTDOWN_LIMIT, f"shutdown took {took:.2f}s"
    assert socket_files(system) == []

