"""``oscar run --daemon``: start Oscar detached (no setsid or nohup needed) and return once
it answers.

supervisord itself is the detached process: a new session, no terminal, standard input from
/dev/null and its output in ``$OSCAR_HOME/logs/oscar-run.log``. Its pid file is
``$OSCAR_HOME/run/supervisord.pid``; ``oscar stop`` ends it and everything under it.
"""

from __future__ import annotations

import http.client
import subprocess
import time
import xmlrpc.client
from collections.abc import Callable

from oscar import launcher
from oscar.settings import Settings

START_TIMEOUT = 60.0  # a Raspberry Pi needs a while to start four Python processes
PROGRAMS = ("oscar-registry", "oscar-listener", "oscar-web")


def log_path(settings: Settings):
    return settings.log_dir / "oscar-run.log"


def _programs_up(settings: Settings) -> bool:
    try:
        infos = launcher._rpc(settings, timeout=2.0).getAllProcessInfo()
    except (OSError, http.client.HTTPException, xmlrpc.client.Error):
        return False
    states = {info["name"]: info["statename"] for info in infos}
    return all(states.get(name) == "RUNNING" for name in PROGRAMS)


def _registry_answers(settings: Settings) -> bool:
    from oscar.client import RegistryClient, RegistryError

    client = RegistryClient(settings, timeout=1.0, retries=0)
    try:
        client.call("ping")
        return True
    except (RegistryError, OSError):
        return False
    finally:
        client.close()


def _tail(path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start(settings: Settings, say: Callable[[str], None] = print,
          timeout: float = START_TIMEOUT) -> int:
    """0 once supervisord, the registry, the listener and the web UI are up; 1 if it exited
    (the end of its log is shown) or did not come up within ``timeout`` (left running)."""
    launcher.prepare(settings)  # SystemExit with the reason if it must not start
    log = log_path(settings)
    with open(log, "ab") as out:
        out.write(f"---- oscar run --daemon {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            launcher.supervisord_argv(silent=True), env=launcher.environment(settings),
            cwd=settings.home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            say(f"oscar: Oscar did not start (supervisord exited with {code}); the end of "
                f"{log}:\n{_tail(log)}")
            return 1
        if _programs_up(settings) and _registry_answers(settings):
            say(f"Oscar running in the background: supervisord pid {proc.pid} (pid file "
                f"{settings.run_dir / 'supervisord.pid'}), OSCAR_HOME={settings.home}, OSC on "
                f"UDP {settings.osc_udp_port} and TCP {settings.osc_tcp_port}, logs in "
                f"{settings.log_dir}. Stop it with `oscar stop`.")
            return 0
        time.sleep(0.2)
    say(f"oscar: Oscar (supervisord pid {proc.pid}) did not answer within {timeout:g}s; it "
        f"may still be starting: see `oscar ctl status` and {settings.log_dir}; "
        "`oscar stop` stops it")
    return 1
