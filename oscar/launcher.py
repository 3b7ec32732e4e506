"""Starting and stopping supervisord with Oscar under it, and running supervisorctl against it.

One OSCAR_HOME runs one Oscar: ``oscar run`` refuses while an earlier run's supervisord or any
of its programs (orphans of a supervisord killed with ``kill -9`` included) is still alive, and
``oscar stop`` ends them all and removes the socket files they leave behind.
"""

from __future__ import annotations

import http.client
import os
import signal
import stat
import sys
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oscar import keys, proc_scan
from oscar.settings import Settings, SettingsError

# Shipped inside the package; in a checkout oscar/supervisord.conf links to the top-level file.
CONFIG = (Path(__file__).parent / "supervisord.conf").resolve()
SUPERVISORD_STOP_TIMEOUT = 60.0  # supervisord waits up to stopwaitsecs per batch of programs
ORPHAN_GRACE = 5.0


def environment(settings: Settings) -> dict[str, str]:
    """supervisord.conf expands these; child processes inherit them and load the same settings."""
    env = dict(os.environ)
    env["OSCAR_HOME"] = str(settings.home)
    env["OSCAR_SOCKET_DIR"] = str(settings.socket_dir)  # supervisord.conf: its socket file
    env["OSCAR_PYTHON"] = sys.executable
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def supervisord_argv(silent: bool = False) -> list[str]:
    # Our entry point: stock supervisord, but programs of equal priority stop in one batch.
    # silent: its log goes to logs/supervisord.log only, not to standard output as well.
    return [sys.executable, "-m", "oscar.supervisord_main", "-n", *(["-s"] if silent else []),
            "-c", str(CONFIG)]


def supervisorctl_argv(settings: Settings, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(CONFIG),
            "-s", f"unix://{settings.supervisor_socket}", *args]


# ---- what is running -------------------------------------------------------------------------


@dataclass
class Running:
    supervisord: int | None = None  # its pid, if it answers or its pid file names a live one
    processes: list[proc_scan.Found] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.supervisord is not None or bool(self.processes)


def _rpc(settings: Settings, timeout: float = 5.0):
    from oscar.supervisor_client import connect

    return connect(settings, timeout=timeout).supervisor


def supervisord_pid(settings: Settings) -> int | None:
    if settings.supervisor_socket.exists():
        try:
            return int(_rpc(settings, timeout=3.0).getPID())
        except (OSError, http.client.HTTPException, xmlrpc.client.Error):
            pass  # a stale socket of a killed supervisord, or one that is hung
    return proc_scan.pidfile_pid(settings.run_dir / "supervisord.pid")


def find_running(settings: Settings) -> Running:
    running = Running(supervisord_pid(settings), proc_scan.scan(settings.home))
    if running.supervisord is None:
        running.supervisord = next((p.pid for p in running.processes if p.is_supervisord), None)
    return running


def ipc_paths(settings: Settings) -> list[Path]:
    """Socket files Oscar's processes bind, and supervisord's socket and pid file."""
    paths = [settings.supervisor_socket, settings.run_dir / "supervisord.pid"]
    for endpoint in (settings.control, settings.publish, settings.events):
        if endpoint.startswith("ipc://"):
            paths.append(Path(endpoint[len("ipc://"):]))
    for folder in {settings.run_dir, settings.socket_dir, settings.socket_dir / "actors"}:
        if folder.is_dir():
            paths.extend(p for p in folder.iterdir() if _is_socket(p))
    return sorted(set(paths))


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.lstat().st_mode)
    except OSError:
        return False


def clean_run_files(settings: Settings) -> list[Path]:
    """Remove the socket and pid files a run left behind. Only call it with nothing running."""
    removed = []
    for path in ipc_paths(settings):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def remove_short_socket_dir(settings: Settings) -> None:
    """After a stop: the /tmp socket folder of a deep OSCAR_HOME goes too, if empty."""
    if settings.socket_dir == settings.run_dir:
        return
    for folder in (settings.socket_dir / "actors", settings.socket_dir):
        try:
            folder.rmdir()
        except OSError:  # not there, or not empty: leave it
            return


def _describe(running: Running) -> str:
    lines = [p.describe() for p in running.processes]
    if running.supervisord is not None and running.supervisord not in {
            p.pid for p in running.processes}:
        lines.insert(0, f"pid {running.supervisord}: supervisord")
    shown = lines[:8] + ([f"... and {len(lines) - 8} more"] if len(lines) > 8 else [])
    return "\n".join("  " + line for line in shown)


# ---- oscar run ---------------------------------------------------------------------------------


def run_foreground(settings: Settings) -> None:
    """Replace this process with supervisord (foreground; Ctrl-C stops everything)."""
    prepare(settings)
    print(f"Oscar starting: OSCAR_HOME={settings.home}, OSC on UDP {settings.osc_udp_port} "
          f"and TCP {settings.osc_tcp_port}, logs in {settings.log_dir}", flush=True)
    os.execve(sys.executable, supervisord_argv(), environment(settings))


def prepare(settings: Settings) -> None:
    """Folders, keys and the one-Oscar-per-home check before supervisord starts (SystemExit
    with the reason when it must not)."""
    try:
        settings.ensure_dirs()
    except SettingsError as exc:  # a short socket folder in /tmp that is not ours
        raise SystemExit(f"oscar: {exc}") from None
    try:
        keys.check(settings)  # tcp:// endpoints without CURVE keys: refuse before anything starts
    except keys.KeysMissing as exc:
        raise SystemExit(f"oscar: {exc}") from None
    running = find_running(settings)
    if running:
        what = ("Oscar is already running" if running.supervisord is not None
                else "processes of an earlier Oscar run are still alive")
        raise SystemExit(f"oscar: {what} for OSCAR_HOME={settings.home}:\n{_describe(running)}\n"
                         f"Stop them with `oscar stop` (or see `oscar ctl status`).")
    clean_run_files(settings)  # stale sockets of a run that was killed


def run_ctl(settings: Settings, args: list[str]) -> int:
    os.execve(sys.executable, supervisorctl_argv(settings, args), environment(settings))
    return 0  # not reached


# ---- oscar stop --------------------------------------------------------------------------------


def stop(settings: Settings, say: Callable[[str], None] = print) -> int:
    """Stop every Oscar process of this OSCAR_HOME. 0 when something was stopped, 3 when
    nothing was running, 1 when a process could not be ended."""
    started = time.monotonic()
    running = find_running(settings)
    if not running:
        removed = clean_run_files(settings)
        remove_short_socket_dir(settings)
        say(f"Oscar is not running for OSCAR_HOME={settings.home}"
            + (f" (removed {len(removed)} stale socket/pid files)" if removed else ""))
        return 3
    programs = len([p for p in running.processes if not p.is_supervisord])
    if running.supervisord is not None:
        _stop_supervisord(settings, running.supervisord, say)
    leftovers = proc_scan.scan(settings.home)
    if leftovers:
        say(f"{len(leftovers)} orphaned process(es) of an earlier run still alive:\n"
            + _describe(Running(None, leftovers)) + "\nsending SIGTERM")
        terminated, killed = proc_scan.terminate([p.pid for p in leftovers], ORPHAN_GRACE)
        if killed:
            say(f"killed (SIGKILL) pids {', '.join(map(str, killed))}: no exit after "
                f"{ORPHAN_GRACE:g}s")
    still = proc_scan.scan(settings.home)
    if still:
        say("could not stop:\n" + _describe(Running(None, still)))
        return 1
    removed = clean_run_files(settings)
    remove_short_socket_dir(settings)
    say(f"Oscar stopped for OSCAR_HOME={settings.home} in {time.monotonic() - started:.1f}s "
        f"({programs} program processes)"
        + (f"; removed {len(removed)} stale socket/pid files" if removed else ""))
    return 0


def _stop_supervisord(settings: Settings, pid: int, say: Callable[[str], None]) -> None:
    try:
        _rpc(settings).shutdown()
        say(f"asked supervisord (pid {pid}) to stop every program and exit")
    except (OSError, http.client.HTTPException, xmlrpc.client.Error):
        try:
            os.kill(pid, signal.SIGTERM)
            say(f"sent SIGTERM to supervisord (pid {pid}); its socket does not answer")
        except ProcessLookupError:
            return
    if proc_scan.wait_gone([pid], SUPERVISORD_STOP_TIMEOUT):
        say(f"supervisord (pid {pid}) still running after {SUPERVISORD_STOP_TIMEOUT:g}s: "
            "killing it (its programs follow it: they exit when their parent dies)")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc_scan.wait_gone([pid], 5.0)
