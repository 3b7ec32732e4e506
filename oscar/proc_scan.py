"""The processes of an Oscar run for one OSCAR_HOME, whether supervisord still has them or not.

After ``kill -9`` of supervisord its children may outlive it; a second ``oscar run`` must not
start beside them. A process belongs to this OSCAR_HOME when its command line is one of
Oscar's programs (or supervisord) and its environment carries ``OSCAR_HOME=<home>`` (the
launcher always sets it, and supervisord passes it down). Read from ``/proc`` on Linux; on
macOS and the BSDs from ``ps -E`` (command line and environment of this user's processes).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# What an Oscar program's command line contains.
MARKERS = (b"oscar.processes.listener", b"oscar.processes.registry",
           b"oscar.processes.device_actor", b"oscar.processes.web", b"oscar.supervisord_main",
           b"supervisor.supervisord",
           # Programs of a run started before they became modules (processes/NAME.py).
           b"processes/listener.py", b"processes/registry.py", b"processes/device_actor.py",
           b"processes/web.py")
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
        return scan_ps(home) if proc == PROC else []
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


PS_ARGV = ("ps", "-E", "-ww", "-ax", "-o", "pid=,ppid=,stat=,command=")
_ENV_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _ps_output() -> str:
    try:
        return subprocess.run(PS_ARGV, capture_output=True, text=True, errors="replace",
                              timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def scan_ps(home: Path, output: Callable[[], str] | None = None) -> list[Found]:
    """Without /proc (macOS, BSD): ``ps -E`` lists each process's command line followed by
    its environment (for this user's processes), enough to find ``OSCAR_HOME=<home>``."""
    needle = "OSCAR_HOME=" + str(home)
    me = os.getpid()
    found = []
    for line in (output or _ps_output)().splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or not parts[0].isdigit() or not parts[1].isdigit():
            continue
        pid, ppid, state, text = int(parts[0]), int(parts[1]), parts[2], parts[3]
        if (pid == me or state.startswith("Z") or f" {needle} " not in f" {text} "
                or not any(m.decode() in text for m in MARKERS)):
            continue
        # The command line ends where the environment (NAME=value words) begins.
        words = text.split(" ")
        end = next((i for i, word in enumerate(words) if i and _ENV_WORD.match(word)),
                   len(words))
        found.append(Found(pid, ppid, _short("\0".join(words[:end]).encode())))
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
