"""The web UI's admin password, API token and session secret, in ``$OSCAR_HOME/web-auth.json``.

Only hashes are stored (werkzeug's salted hash for the password, SHA-256 for the random API
token). The file is written atomically with mode 0600 under a lock; the web process re-reads it
when it changes, so ``oscar web set-password`` takes effect without a restart. ``epoch`` changes
whenever the password does, which ends every session logged in with the old one.
"""

from __future__ import annotations

import argparse
import fcntl
import getpass
import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

log = logging.getLogger(__name__)
FILE_NAME = "web-auth.json"
MIN_PASSWORD = 8


class AuthFileError(RuntimeError):
    """The auth file exists but cannot be read; the web UI then refuses every request."""


@dataclass(frozen=True)
class AuthConfig:
    secret_key: str = ""
    password_hash: str = ""
    token_hash: str = ""
    epoch: str = ""

    @property
    def password_required(self) -> bool:
        return bool(self.password_hash)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def check_token(self, token: str) -> bool:
        # Tokens are 256 random bits, so a fast hash is enough; compare in constant time.
        return bool(self.token_hash) and hmac.compare_digest(self.token_hash, _token_hash(token))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthFile:
    def __init__(self, path: Path):
        self.path = path
        self._cached: tuple[tuple[int, int, int], AuthConfig] | None = None

    @classmethod
    def for_home(cls, home: Path) -> AuthFile:
        return cls(home / FILE_NAME)

    def load(self) -> AuthConfig:
        """The current file (re-read only when it changed); an empty config when there is none."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return AuthConfig()
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, self._read())
        return self._cached[1]

    def _read(self) -> AuthConfig:
        try:
            data = json.loads(self.path.read_text())
            known = {k: str(data[k]) for k in AuthConfig.__dataclass_fields__ if k in data}
            return AuthConfig(**known)
        except (OSError, ValueError, TypeError) as exc:
            raise AuthFileError(f"cannot read {self.path}: {exc}") from None

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write(self, config: AuthConfig) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({**asdict(config), "written_at": time.time()}, handle, indent=2)
        os.replace(tmp, self.path)

    def _change(self, **changes: str) -> AuthConfig:
        with self._locked():
            current = self._read() if self.path.exists() else AuthConfig()
            config = replace(current, **changes)
            if not config.secret_key:
                config = replace(config, secret_key=secrets.token_hex(32))
            if config != current:
                self._write(config)
            return config

    def ensure_secret(self) -> AuthConfig:
        """The config, creating the file with a session secret on first use."""
        return self._change()

    def set_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
        self._change(password_hash=generate_password_hash(password),
                     epoch=secrets.token_hex(8))

    def clear_password(self) -> None:
        self._change(password_hash="", epoch=secrets.token_hex(8))

    def new_token(self) -> str:
        """A new API token (replacing the old one); only its hash is kept, so show it now."""
        token = secrets.token_urlsafe(32)
        self._change(token_hash=_token_hash(token))
        return token

    def clear_token(self) -> None:
        self._change(token_hash="")


# ---- `oscar web ...` ---------------------------------------------------------------------------

def add_cli(sub: argparse._SubParsersAction) -> None:
    web = sub.add_parser("web", help="web UI password and API token")
    actions = web.add_subparsers(dest="action", required=True, metavar="ACTION")
    setpw = actions.add_parser("set-password", help="require this admin password for the web UI")
    setpw.add_argument("--stdin", action="store_true",
                       help="read the password from the first line of stdin (for scripts)")
    actions.add_parser("clear-password", help="no password: the web UI is open again")
    actions.add_parser("new-token", help="print a new API token (replaces the old one)")
    actions.add_parser("clear-token", help="remove the API token")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New web UI password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise ValueError("the two passwords differ; nothing changed")
    return first


def run_cli(home: Path, args: argparse.Namespace) -> int:
    auth = AuthFile.for_home(home)
    try:
        if args.action == "set-password":
            auth.set_password(_read_password(args.stdin))
            print(f"password set ({auth.path}); the web UI asks for it from the next request")
        elif args.action == "clear-password":
            auth.clear_password()
            print("password cleared: the web UI needs no login")
        elif args.action == "new-token":
            token = auth.new_token()
            print(token)
            print("send it as the header `Authorization: Bearer TOKEN`; it is shown only once",
                  file=sys.stderr)
        else:
            auth.clear_token()
            print("API token removed")
    except (ValueError, AuthFileError, OSError) as exc:
        print(f"oscar: {exc}", file=sys.stderr)
        return 2
    except (EOFError, KeyboardInterrupt):
        print("\noscar: no password given; nothing changed", file=sys.stderr)
        return 2
    return 0
