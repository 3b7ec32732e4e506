"""``oscar service install|uninstall|status``: start Oscar at boot (systemd) or login/boot
(launchd on macOS), restarted when it fails.

The unit and the plist are made by pure functions (``systemd_unit``, ``launchd_plist``) from a
``ServicePlan``; ``plan`` decides paths, user and OSCAR_HOME; ``install``/``uninstall``/``status``
write files and run systemctl/launchctl, or, with ``dry_run``, only say what they would do.
"""

from __future__ import annotations

import os
import plistlib
import pwd
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oscar import home as home_mod

UNIT_NAME = "oscar.service"
LAUNCHD_LABEL = "org.oscar.oscar"
SERVICE_USER = "oscar"  # the dedicated account of a system install (Linux)
STOP_TIMEOUT = 90  # seconds: supervisord stops every program (its own limit is 60)


class ServiceError(RuntimeError):
    """The service cannot be installed/removed as asked; the message says what to do."""


@dataclass(frozen=True)
class ServicePlan:
    kind: str  # "systemd" or "launchd"
    scope: str  # "system" or "user"
    path: Path  # the unit or plist file
    argv: tuple[str, ...]  # what the service runs: python -m oscar.cli run
    home: Path  # OSCAR_HOME
    user: str = ""  # system scope: the account Oscar runs as
    create_user: bool = False  # system scope on Linux: make the dedicated account first
    notes: tuple[str, ...] = field(default=())


# ---- the files (pure) ---------------------------------------------------------------------------


def _systemd_quote(word: str) -> str:
    """One word of ExecStart= (systemd's own quoting: double quotes, backslash escapes; a
    percent sign is a specifier and must be doubled)."""
    word = word.replace("%", "%%")
    if word and all(c.isalnum() or c in "/._-+=:," for c in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(plan: ServicePlan) -> str:
    """The systemd unit: ``oscar run`` in the foreground (supervisord), restarted on failure.
    Stop: SIGTERM to supervisord only (KillMode=mixed), which stops every program in order;
    anything left after TimeoutStopSec gets SIGKILL."""
    exec_start = " ".join(_systemd_quote(w) for w in plan.argv)
    home = str(plan.home).replace("%", "%%")
    lines = [
        "# Written by `oscar service install`; remove with `oscar service uninstall`.",
        "[Unit]",
        "Description=Oscar, OSC to raw TCP bridge for show control",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=60",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={exec_start}",
        f'Environment="OSCAR_HOME={home}"',
        "Environment=PYTHONUNBUFFERED=1",
        f"WorkingDirectory=-{home}",  # "-": a home not made yet is no reason to fail
        "Restart=on-failure",
        "RestartSec=2",
        "KillMode=mixed",
        f"TimeoutStopSec={STOP_TIMEOUT}",
        "UMask=0077",
        "LimitNOFILE=65536",
    ]
    if plan.scope == "system":
        lines += [
            f"User={plan.user}",
            "NoNewPrivileges=yes",
        ]
        if plan.home == home_mod.SYSTEM_HOME:
            # systemd creates /var/lib/oscar (0700) and gives it to User= before each start.
            lines += ["StateDirectory=oscar", "StateDirectoryMode=0700"]
    lines += [
        "",
        "[Install]",
        "WantedBy=" + ("multi-user.target" if plan.scope == "system" else "default.target"),
        "",
    ]
    return "\n".join(lines)


def launchd_plist(plan: ServicePlan) -> bytes:
    """The launchd job: runs at load (boot for a daemon, login for an agent), restarted when it
    exits with a failure, never App-Nap throttled (ProcessType Interactive: cue latency)."""
    log = str(plan.home / "logs" / "launchd.log")
    job: dict = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(plan.argv),
        "EnvironmentVariables": {"OSCAR_HOME": str(plan.home), "PYTHONUNBUFFERED": "1"},
        "WorkingDirectory": str(plan.home),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "ExitTimeOut": STOP_TIMEOUT,
        "ProcessType": "Interactive",
        "Umask": 0o077,
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }
    if plan.scope == "system" and plan.user:
        job["UserName"] = plan.user
    return plistlib.dumps(job, sort_keys=False)


def render(plan: ServicePlan) -> bytes:
    return systemd_unit(plan).encode() if plan.kind == "systemd" else launchd_plist(plan)


# ---- deciding what to install -------------------------------------------------------------------


def run_argv() -> tuple[str, ...]:
    """This interpreter running this package: right for a venv, pipx or a checkout alike."""
    return (sys.executable, "-m", "oscar.cli", "run")


def others_can_run(path: Path) -> bool:
    """Can an account other than the owner run ``path``? Every folder above it (and the file,
    links followed) must be open to others (o+x): a venv in a 0750 home is not."""
    try:
        targets = [Path(path).absolute(), Path(path).resolve()]
        for target in targets:
            for folder in [*reversed(target.parents)]:
                if not folder.stat().st_mode & stat.S_IXOTH:
                    return False
        return bool(Path(path).resolve().stat().st_mode & stat.S_IXOTH)
    except OSError:
        return False


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def plan(*, user_scope: bool, platform: str | None = None, environ: dict | None = None,
         euid: int | None = None, user_home: Path | None = None,
         argv: tuple[str, ...] | None = None, run_as: str = "", checkout: bool | None = None,
         require_root: bool = True, can_run: Callable[[Path], bool] = others_can_run,
         exists: Callable[[str], bool] = user_exists) -> ServicePlan:
    """Where the file goes, who runs Oscar and with which OSCAR_HOME (a user service: the
    home `oscar info` shows; a system service: OSCAR_HOME if set, else /var/lib/oscar).
    Everything that depends on this machine can be passed in (tests)."""
    platform = sys.platform if platform is None else platform
    checkout = home_mod.is_checkout() if checkout is None else checkout
    env = dict(os.environ if environ is None else environ)
    euid = os.geteuid() if euid is None else euid
    user_home = Path.home() if user_home is None else user_home
    argv = run_argv() if argv is None else argv
    if platform.startswith("linux"):
        kind = "systemd"
    elif platform == "darwin":
        kind = "launchd"
    else:
        raise ServiceError(f"oscar service: no service manager known on {platform}; run "
                           "`oscar run --daemon` from the system's start-up scripts")
    notes: list[str] = []
    if user_scope:
        home = home_mod.choose(env, checkout=checkout, euid=1, user_home=user_home).path
        if env.get("OSCAR_HOME"):
            notes.append(f"OSCAR_HOME={home} (from the environment)")
        if kind == "systemd":
            config = Path(env.get("XDG_CONFIG_HOME") or user_home / ".config")
            path = config / "systemd" / "user" / UNIT_NAME
            notes.append("a user service starts when you log in; to start it at boot "
                         f"without a login: sudo loginctl enable-linger {_login_name(env)}")
        else:
            path = user_home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
            notes.append("a launch agent starts when you log in; for a start at boot use "
                         "`sudo oscar service install` (a launch daemon)")
        return ServicePlan(kind, "user", path, tuple(argv), home, notes=tuple(notes))

    if euid != 0 and require_root:
        raise ServiceError("the system service needs root: sudo \"$(command -v oscar)\" "
                           "service ... (or a service for yourself only: --user)")
    home = Path(env["OSCAR_HOME"]) if env.get("OSCAR_HOME") else home_mod.SYSTEM_HOME
    invoker = env.get("SUDO_USER", "")
    if run_as:
        user = run_as
    elif kind == "systemd" and can_run(Path(argv[0])):
        user = SERVICE_USER
    elif invoker and invoker != "root":
        user = invoker
        notes.append(f"runs as {invoker}: {argv[0]} is not reachable by other accounts "
                     "(a venv in a private home folder); install Oscar system-wide for a "
                     f"dedicated account, or pass --run-as")
    else:
        user = "root"
        notes.append("runs as root: no other account can reach "
                     f"{argv[0]}; pass --run-as USER to choose one")
    create = kind == "systemd" and user == SERVICE_USER and not exists(user)
    if kind == "systemd":
        path = Path("/etc/systemd/system") / UNIT_NAME
    else:
        path = Path("/Library/LaunchDaemons") / f"{LAUNCHD_LABEL}.plist"
    return ServicePlan(kind, "system", path, tuple(argv), home, user, create, tuple(notes))


def _login_name(env: dict) -> str:
    return env.get("USER") or env.get("LOGNAME") or "$USER"


# ---- doing it -----------------------------------------------------------------------------------


def _systemctl(plan: ServicePlan, *args: str) -> list[str]:
    return ["systemctl", *(["--user"] if plan.scope == "user" else []), *args]


def _launchd_domain(plan: ServicePlan) -> str:
    return "system" if plan.scope == "system" else f"gui/{os.getuid()}"


def install_commands(plan: ServicePlan) -> list[list[str]]:
    if plan.kind == "systemd":
        commands = []
        if plan.create_user:
            commands.append(["useradd", "--system", "--user-group", "--no-create-home",
                             "--home-dir", str(plan.home), "--shell", "/usr/sbin/nologin",
                             plan.user])
        return commands + [_systemctl(plan, "daemon-reload"),
                           _systemctl(plan, "enable", "--now", UNIT_NAME)]
    return [["launchctl", "bootstrap", _launchd_domain(plan), str(plan.path)]]


def uninstall_commands(plan: ServicePlan) -> list[list[str]]:
    if plan.kind == "systemd":
        return [_systemctl(plan, "disable", "--now", UNIT_NAME)]
    return [["launchctl", "bootout", f"{_launchd_domain(plan)}/{LAUNCHD_LABEL}"]]


def status_command(plan: ServicePlan) -> list[str]:
    if plan.kind == "systemd":
        return _systemctl(plan, "status", "--no-pager", UNIT_NAME)
    return ["launchctl", "print", f"{_launchd_domain(plan)}/{LAUNCHD_LABEL}"]


def _run(command: list[str], say: Callable[[str], None], check: bool = True) -> int:
    say("$ " + shlex.join(command))
    if shutil.which(command[0]) is None:
        raise ServiceError(f"{command[0]} not found: is this machine using "
                           f"{'systemd' if command[0] == 'systemctl' else command[0]}?")
    result = subprocess.run(command, check=False)
    if check and result.returncode != 0:
        raise ServiceError(f"`{shlex.join(command)}` failed (exit {result.returncode})")
    return result.returncode


def install(plan: ServicePlan, *, dry_run: bool = False,
            say: Callable[[str], None] = print) -> int:
    content = render(plan)
    for note in plan.notes:
        say(f"note: {note}")
    if dry_run:
        say(f"would write {plan.path}:")
        say(content.decode().rstrip("\n"))
        for command in install_commands(plan):
            say("would run: " + shlex.join(command))
        return 0
    missing = sorted({c[0] for c in install_commands(plan) if shutil.which(c[0]) is None})
    if missing:
        raise ServiceError(f"{', '.join(missing)} not found: this machine does not use "
                           f"{'systemd' if plan.kind == 'systemd' else 'launchd'}; start Oscar "
                           "from its start-up scripts with `oscar run --daemon` instead")
    if plan.create_user:
        _run(install_commands(plan)[0], say)
    # The log folder launchd writes to must exist before the job starts, and a system home
    # belongs to the account Oscar runs as; systemd makes /var/lib/oscar itself
    # (StateDirectory) and Oscar makes the rest.
    if not (plan.kind == "systemd" and plan.home == home_mod.SYSTEM_HOME):
        (plan.home / "logs").mkdir(mode=0o700, parents=True, exist_ok=True)
        if plan.scope == "system" and plan.user and plan.user != "root":
            for folder in (plan.home, plan.home / "logs"):
                shutil.chown(folder, plan.user)
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = plan.path.with_name("." + plan.path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.chmod(0o644)
    os.replace(tmp, plan.path)
    say(f"wrote {plan.path}")
    for command in install_commands(plan)[1 if plan.create_user else 0:]:
        _run(command, say)
    say(f"Oscar runs as a service now (OSCAR_HOME={plan.home}); "
        f"see `oscar service status{' --user' if plan.scope == 'user' else ''}`")
    return 0


def uninstall(plan: ServicePlan, *, dry_run: bool = False,
              say: Callable[[str], None] = print) -> int:
    if dry_run:
        for command in uninstall_commands(plan):
            say("would run: " + shlex.join(command))
        say(f"would remove {plan.path}")
        return 0
    if not plan.path.exists():
        say(f"no service installed ({plan.path} does not exist)")
        return 3
    for command in uninstall_commands(plan):
        _run(command, say, check=False)  # not running / not loaded is fine
    plan.path.unlink()
    say(f"removed {plan.path}")
    if plan.kind == "systemd":
        _run(_systemctl(plan, "daemon-reload"), say, check=False)
    say(f"Oscar's data stays in {plan.home}" + (f"; the account {plan.user} stays too"
                                                if plan.user == SERVICE_USER else ""))
    return 0


def status(plan: ServicePlan, say: Callable[[str], None] = print) -> int:
    if not plan.path.exists():
        say(f"not installed ({plan.path} does not exist); install with `oscar service install"
            f"{' --user' if plan.scope == 'user' else ''}`")
        return 3
    say(f"installed: {plan.path}")
    if shutil.which(status_command(plan)[0]) is None:
        say(f"{status_command(plan)[0]} not found: cannot ask the service manager")
        return 1
    return subprocess.run(status_command(plan), check=False).returncode
