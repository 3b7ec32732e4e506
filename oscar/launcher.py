"""Starting supervisord with Oscar under it, and running supervisorctl against it."""

from __future__ import annotations

import os
import sys

from oscar.settings import REPO_ROOT, Settings

CONFIG = REPO_ROOT / "supervisord.conf"


def environment(settings: Settings) -> dict[str, str]:
    """supervisord.conf expands these; child processes inherit them and load the same settings."""
    env = dict(os.environ)
    env["OSCAR_HOME"] = str(settings.home)
    env["OSCAR_PYTHON"] = sys.executable
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def supervisord_argv() -> list[str]:
    return [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(CONFIG)]


def supervisorctl_argv(settings: Settings, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(CONFIG),
            "-s", f"unix://{settings.supervisor_socket}", *args]


def run_foreground(settings: Settings) -> None:
    """Replace this process with supervisord (foreground; Ctrl-C stops everything)."""
    settings.ensure_dirs()
    if settings.supervisor_socket.exists():
        import socket

        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(str(settings.supervisor_socket))
            raise SystemExit(f"Oscar is already running with OSCAR_HOME={settings.home} "
                             f"(see `oscar ctl status`)")
        except OSError:
            pass  # a stale socket from a previous run that was killed
        finally:
            probe.close()
    print(f"Oscar starting: OSCAR_HOME={settings.home}, OSC on UDP {settings.osc_udp_port} "
          f"and TCP {settings.osc_tcp_port}, logs in {settings.log_dir}", flush=True)
    os.execve(sys.executable, supervisord_argv(), environment(settings))


def run_ctl(settings: Settings, args: list[str]) -> int:
    os.execve(sys.executable, supervisorctl_argv(settings, args), environment(settings))
    return 0  # not reached
