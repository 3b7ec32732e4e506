"""The processes of an Oscar run for one OSCAR_HOME, whether supervisord still has them or not.

After ``kill -9`` of supervisord its children may outlive it; a second ``oscar run`` must not
start beside them. A process belongs to this OSCAR_HOME when its command line is one of
Oscar's programs (or supervisord) and its environment carries ``OSCAR_HOME=<home>`` (the
launcher always sets it, and supervisord passes it down). Read from ``/proc`` on Linux; on other
systems only the supervisord pid file is checked (best effort).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# What an Oscar program's command line contains.
MARKERS = (b"processes/listener.py", b"processes/registry.py", b"processes/device_actor.py",
           b"processes/web.py", b"oscar.supervisord_main", b"supervisor.supervisord")
SUPERVISORD_MARKERS = (b"oscar.supervisord_main", b"supervisor.supervisord")


@dataclass(frozen=True)
class Found:
    pid: int
    ppid: int
    command: str  # for messages: the command line, shortened

    @property
    def is_supervisord(self) -> bool:
        return any(m.decode() in self.command for m in SUPERVISORD_MARKERS)

    def describe(self) -> str:
        return f"pid {self.pid}: {self.command}"


def _short(cmdline: bytes) -> str:
    words = [w.decode(errors="replace") for w in cmdline.split(b"\0") if w]
    # Drop the interpreter and shorten paths to their last two parts: enough to recognise.
    words = [("/".join(w.split("/")[-2:]) if "/" in w else w) for w in words[1:] or words]
    text = " ".join(words)
    return text if len(text) <= 120 else text[:117] + "..."


def _stat(pid_dir: Path) -> tuple[int, str] | None:
    """(parent pid, state letter), or None if the process is gone."""
    try:
        text = (pid_dir / "stat").read_text()
        fields = text.rsplit(")", 1)[1].split()  # the name in (...) may contain anything
        return int(fields[1]), fields[0]
    except (OSError, IndexError, ValueError):
        return None


def scan(home: Path, proc: Path = PROC) -> list[Found]:
    """Live (not zombie) Oscar processes of ``home``, this process excluded."""
    if not proc.is_dir():
        return []
    needle = b"OSCAR_HOME=" + os.fsencode(str(home))
    me = os.getpid()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if not any(marker in cmdline for marker in MARKERS):
                continue
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's process
            continue
        if needle not in environ.split(b"\0"):
            continue
        stat = _stat(entry)
        if stat is None or stat[1] == "Z":
            continue
        found.append(Found(int(entry.name), stat[0], _short(cmdline)))
    return sorted(found, key=lambda f: f.pid)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _stat(PROC / str(pid))  # None without /proc: kill(0) has to do
    return stat is None or stat[1] != "Z"  # a zombie has exited; its parent just did not reap it


def pidfile_pid(path: Path) -> int | None:
    """The pid in supervisord's pid file if that process is alive (and, where we can tell,
    really is supervisord rather than a process that reused the number)."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid <= 0 or not alive(pid):
        return None
    try:
        cmdline = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return pid  # no /proc: trust the file
    return pid if any(m in cmdline for m in SUPERVISORD_MARKERS) else None


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of ``pids`` is alive; return those still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    return left


def terminate(pids: list[int], grace: float = 5.0) -> tuple[list[int], list[int]]:
    """SIGTERM, then SIGKILL whoever is still there after ``grace``: (terminated, killed)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    stubborn = wait_gone(pids, grace)
    for pid in stubborn:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_gone(stubborn, 5.0)
    return [p for p in pids if p not in stubborn], stubborn
