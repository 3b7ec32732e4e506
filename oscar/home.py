"""Where Oscar keeps its state (OSCAR_HOME), and where its socket files go.

OSCAR_HOME, when set, always wins. Otherwise: in a git checkout ``var/`` beside the code (as
``make run`` always did); installed (pip, pipx) ``$XDG_STATE_HOME/oscar`` (by default
``~/.local/state/oscar``) for a user, and ``/var/lib/oscar`` when run as root, i.e. as a system
service (``oscar service install`` also sets OSCAR_HOME explicitly). Nothing is ever written
inside the installed package.

Unix socket paths are short: 107 bytes on Linux, 103 on macOS and the BSDs (``sun_path`` is
104 bytes there, NUL included). When ``$OSCAR_HOME/run`` is too deep for Oscar's socket files,
they go to a private folder ``/tmp/oscar-<uid>-<digest of OSCAR_HOME>`` instead; everything
else (store, logs, program files, pid file) stays in OSCAR_HOME.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from oscar.records import record

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent
SYSTEM_HOME = Path("/var/lib/oscar")
SHORT_SOCKET_BASE = Path("/tmp")
# The longest socket file name under the socket folder: "/actors/" + 16-hex digest + ".sock"
# (a device name that does not fit is replaced by its digest; see Settings.actor_endpoint).
LONGEST_SOCKET_LEAF = len("/actors/") + 16 + len(".sock")


@record(frozen=True)
class Home:
    path: Path
    # "OSCAR_HOME" (set in the environment), "checkout", "user" or "system"
    source: str


def is_checkout(root: Path = CHECKOUT_ROOT) -> bool:
    """True when this oscar package runs from a source tree (git checkout, editable install)
    rather than from an installed wheel (where the folder above it is site-packages)."""
    return (root / "pyproject.toml").is_file() and (root / "processes" / "__init__.py").is_file()


def choose(environ: dict[str, str] | os._Environ, *, checkout: bool, euid: int,
           user_home: Path) -> Home:
    """The OSCAR_HOME to use (not resolved, not created). Pure: everything comes in."""
    if environ.get("OSCAR_HOME"):
        return Home(Path(environ["OSCAR_HOME"]).expanduser(), "OSCAR_HOME")
    if checkout:
        return Home(CHECKOUT_ROOT / "var", "checkout")
    if euid == 0:
        return Home(SYSTEM_HOME, "system")
    state = environ.get("XDG_STATE_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    base = Path(state) if state and Path(state).is_absolute() else user_home / ".local" / "state"
    return Home(base / "oscar", "user")


def from_environment(environ: dict[str, str] | os._Environ | None = None) -> Home:
    env = os.environ if environ is None else environ
    home = choose(env, checkout=is_checkout(), euid=os.geteuid(), user_home=Path.home())
    return Home(home.path.resolve(), home.source)


def ipc_path_limit(platform: str | None = None) -> int:
    """Longest unix socket path (bytes) the platform takes."""
    platform = sys.platform if platform is None else platform
    return 107 if platform.startswith("linux") else 103


def socket_dir(home: Path, *, platform: str | None = None, uid: int | None = None) -> Path:
    """``home/run`` when every socket path fits under it, else a short private folder."""
    run = home / "run"
    if len(os.fsencode(str(run))) + LONGEST_SOCKET_LEAF <= ipc_path_limit(platform):
        return run
    uid = os.getuid() if uid is None else uid
    import hashlib  # here: it loads OpenSSL (~3.5 MB in every process), rarely needed

    digest = hashlib.sha1(os.fsencode(str(home))).hexdigest()[:12]
    return SHORT_SOCKET_BASE / f"oscar-{uid}-{digest}"


class UnsafeSocketDir(RuntimeError):
    """The short socket folder exists but is not a private folder of this user."""


def make_private_dir(path: Path) -> None:
    """Create ``path`` (0700) in a world-writable place like /tmp, and refuse one planted by
    someone else: it must be a real folder (not a link), ours, and closed to others."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UnsafeSocketDir(
            f"{path} (Oscar's socket folder for a long OSCAR_HOME) is not a private folder of "
            f"this user (uid {os.getuid()}): remove it, or choose a shorter OSCAR_HOME")
