"""Every port, path and endpoint Oscar uses, from one place.

Precedence (lowest first): built-in defaults, ``$OSCAR_HOME/oscar.toml``, environment variables.
Each process loads the same settings, so supervisord passing its environment down is enough
to keep the listener, registry, actors and web UI in agreement.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from oscar import allow_list, feedback_targets
from oscar import home as home_mod
from oscar.records import fields, record, replace

REPO_ROOT = Path(__file__).resolve().parent.parent
# OSCAR_HOME in a checkout; installed, see oscar.home (~/.local/state/oscar, /var/lib/oscar).
DEFAULT_HOME = REPO_ROOT / "var"
# 53000/53001/53535 are QLab's, 3032 ETC Eos's, 12321 Companion's: stay clear of them.
DEFAULT_OSC_PORT = 53999
# AF_UNIX paths are limited to 107 bytes on Linux, 103 on macOS; ipc:// endpoints longer fail.
MAX_IPC_PATH = home_mod.ipc_path_limit()


class SettingsError(ValueError):
    """A setting has a value Oscar cannot use; the message names the setting."""


@record(frozen=True)
class Settings:
    home: Path
    osc_host: str = "0.0.0.0"
    osc_udp_port: int = DEFAULT_OSC_PORT
    osc_tcp_port: int = DEFAULT_OSC_PORT
    web_host: str = "127.0.0.1"
    web_port: int = 8053
    # Empty endpoint = the ipc:// default under $OSCAR_HOME/run/.
    control_endpoint: str = ""
    publish_endpoint: str = ""
    events_endpoint: str = ""
    # "{name}" is replaced by the device name.
    actor_endpoint_template: str = ""
    request_timeout: float = 2.0
    # Who may send OSC: comma-separated IP addresses and networks; empty = everyone.
    osc_allow: str = ""
    # A bundle dated further ahead than this (seconds) is refused, not held for hours.
    osc_schedule_horizon: float = 3600.0
    # OSC TCP connections: closed after this many silent seconds; at the limit the one idle
    # the longest is closed to admit a newcomer.
    osc_tcp_idle_timeout: float = 300.0
    osc_tcp_max_clients: int = 256
    # Feedback targets (replies, states, errors as OSC): comma-separated udp://h:p, tcp://h:p.
    # Seeds the registry's stored list; see oscar.feedback_targets.
    feedback: str = ""
    # Events history ($OSCAR_HOME/history.sqlite): events older than history_days, and the
    # oldest beyond history_rows, are pruned in the background (oscar.history).
    history_days: float = 7.0
    history_rows: int = 1_000_000

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def programs_dir(self) -> Path:
        """supervisord [include] folder: one program file per enabled device."""
        return self.run_dir / "programs"

    @property
    def db_path(self) -> Path:
        return self.home / "oscar.sqlite3"

    @property
    def history_path(self) -> Path:
        """The events history: every event the registry received (oscar/history.py)."""
        return self.home / "history.sqlite"

    @property
    def totals_path(self) -> Path:
        """Per-device totals (sent, dropped, ...) kept across registry restarts."""
        return self.run_dir / "totals.json"

    @property
    def desired_state_path(self) -> Path:
        """Last published desired state, so the data plane can start without the registry."""
        return self.run_dir / "desired-state.msgpack"

    @property
    def socket_dir(self) -> Path:
        """run_dir, or a short private folder in /tmp when OSCAR_HOME is too deep for socket
        paths (oscar.home.socket_dir)."""
        return home_mod.socket_dir(self.home)

    @property
    def supervisor_socket(self) -> Path:
        return self.socket_dir / "supervisor.sock"

    def _ipc(self, leaf: str) -> str:
        return f"ipc://{self.socket_dir / leaf}"

    @property
    def control(self) -> str:
        return self.control_endpoint or self._ipc("registry-control.sock")

    @property
    def publish(self) -> str:
        return self.publish_endpoint or self._ipc("registry-pub.sock")

    @property
    def events(self) -> str:
        return self.events_endpoint or self._ipc("registry-events.sock")

    def actor_endpoint(self, name: str) -> str:
        if self.actor_endpoint_template:
            return self.actor_endpoint_template.replace("{name}", name)
        path = self.socket_dir / "actors" / f"{name}.sock"
        if len(os.fsencode(str(path))) > home_mod.ipc_path_limit():
            # Long device names would not fit in a socket path: use a short, stable digest.
            import hashlib  # here: it loads OpenSSL (~3.5 MB in every actor), rarely needed

            path = path.with_name(hashlib.sha1(name.encode()).hexdigest()[:16] + ".sock")
        return f"ipc://{path}"

    def endpoints(self) -> dict[str, str]:
        return {
            "control": self.control,
            "publish": self.publish,
            "events": self.events,
            "actor (example)": self.actor_endpoint("NAME"),
        }

    def ensure_dirs(self) -> None:
        """Create $OSCAR_HOME and its folders, private to this user (0700), and make every file
        this process and its children create from now on private too (umask 077: the store,
        desired state, logs, program files, sockets). Called first by `oscar run` (so
        supervisord and everything under it inherit the umask) and by the registry. Folders
        that already exist keep their mode: the operator may have chosen it."""
        os.umask(0o077)
        for path in (self.home, self.run_dir, self.log_dir, self.programs_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.socket_dir != self.run_dir:
            try:
                home_mod.make_private_dir(self.socket_dir)
            except home_mod.UnsafeSocketDir as exc:
                raise SettingsError(str(exc)) from None
        (self.socket_dir / "actors").mkdir(mode=0o700, exist_ok=True)

    def check(self) -> None:
        for endpoint in (self.control, self.publish, self.events, self.actor_endpoint("x" * 64)):
            limit = home_mod.ipc_path_limit()
            if endpoint.startswith("ipc://") and len(os.fsencode(endpoint)) - 6 > limit:
                raise SettingsError(
                    f"OSCAR_HOME {self.home} is too long for ipc:// endpoints "
                    f"({endpoint} exceeds {limit} bytes); choose a shorter OSCAR_HOME"
                )
        for field in ("osc_udp_port", "osc_tcp_port", "web_port"):
            value = getattr(self, field)
            if not 1 <= value <= 65535:
                raise SettingsError(f"{field} must be 1-65535, got {value}")
        # 0 would time out every request at once; a negative poll timeout waits forever.
        if not (0 < self.request_timeout < math.inf):
            raise SettingsError(
                f"request_timeout must be a positive number of seconds, got {self.request_timeout}"
            )
        for field in ("osc_schedule_horizon", "osc_tcp_idle_timeout"):
            value = getattr(self, field)
            if not (0 < value < math.inf):
                raise SettingsError(f"{field} must be a positive number of seconds, got {value}")
        if not 1 <= self.osc_tcp_max_clients <= 100_000:
            raise SettingsError(
                f"osc_tcp_max_clients must be 1-100000, got {self.osc_tcp_max_clients}")
        try:
            allow_list.parse_entries(self.osc_allow)
        except allow_list.AllowListError as exc:
            raise SettingsError(f"osc_allow (OSCAR_OSC_ALLOW): {exc}") from None
        if not (0 < self.history_days <= 36500):
            raise SettingsError(f"history_days must be more than 0 and at most 36500, "
                                f"got {self.history_days}")
        if not 1000 <= self.history_rows <= 1_000_000_000:
            raise SettingsError(f"history_rows must be 1000-1000000000, got {self.history_rows}")
        try:
            feedback_targets.parse_targets(self.feedback)
        except ValueError as exc:
            raise SettingsError(f"feedback (OSCAR_FEEDBACK): {exc}") from None


# setting field -> environment variable
ENV_VARS = {
    "osc_host": "OSCAR_OSC_HOST",
    "osc_udp_port": "OSCAR_OSC_UDP_PORT",
    "osc_tcp_port": "OSCAR_OSC_TCP_PORT",
    "web_host": "OSCAR_WEB_HOST",
    "web_port": "OSCAR_WEB_PORT",
    "control_endpoint": "OSCAR_CONTROL_ENDPOINT",
    "publish_endpoint": "OSCAR_PUBLISH_ENDPOINT",
    "events_endpoint": "OSCAR_EVENTS_ENDPOINT",
    "actor_endpoint_template": "OSCAR_ACTOR_ENDPOINT_TEMPLATE",
    "request_timeout": "OSCAR_REQUEST_TIMEOUT",
    "osc_allow": "OSCAR_OSC_ALLOW",
    "osc_schedule_horizon": "OSCAR_OSC_SCHEDULE_HORIZON",
    "osc_tcp_idle_timeout": "OSCAR_OSC_TCP_IDLE_TIMEOUT",
    "osc_tcp_max_clients": "OSCAR_OSC_TCP_MAX_CLIENTS",
    "feedback": "OSCAR_FEEDBACK",
    "history_days": "OSCAR_HISTORY_DAYS",
    "history_rows": "OSCAR_HISTORY_ROWS",
}


def _convert(field: str, raw: object, source: str) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[field]
    try:
        if kind in ("int", "float") and isinstance(raw, bool):
            raise TypeError(raw)  # TOML true/false: int(True) would quietly be port 1
        if kind == "int":
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError(raw)
            return int(raw)  # type: ignore[arg-type]
        if kind == "float":
            return float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = "a whole number" if kind == "int" else "a number"
        raise SettingsError(f"{source}: {field} must be {number}, got {raw!r}") from None
    if field == "osc_allow" and isinstance(raw, list):  # oscar.toml: osc_allow = ["10.0.0.0/8"]
        if not all(isinstance(item, str) for item in raw):
            raise SettingsError(f"{source}: osc_allow must be a list of addresses, got {raw!r}")
        return ",".join(raw)
    if field == "feedback" and isinstance(raw, list):  # oscar.toml: feedback = ["udp://h:9000"]
        if not all(isinstance(item, str) for item in raw):
            raise SettingsError(f"{source}: feedback must be a list of targets, got {raw!r}")
        return ",".join(raw)
    return str(raw)


def load(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    home = home_mod.from_environment(env).path
    values: dict[str, object] = {}
    config_file = home / "oscar.toml"
    if config_file.exists():
        import tomllib  # here: most homes have no file, and every actor would pay for it

        try:
            data = tomllib.loads(config_file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config_file}: {exc}") from None
        for key, raw in data.items():
            if key not in ENV_VARS:
                raise SettingsError(f"{config_file}: unknown setting {key!r}")
            values[key] = _convert(key, raw, str(config_file))
    # OSCAR_OSC_PORT sets both UDP and TCP; the specific variables win over it.
    if env.get("OSCAR_OSC_PORT"):
        port = _convert("osc_udp_port", env["OSCAR_OSC_PORT"], "OSCAR_OSC_PORT")
        values["osc_udp_port"] = values["osc_tcp_port"] = port
    for key, var in ENV_VARS.items():
        if env.get(var):
            values[key] = _convert(key, env[var], var)
    settings = replace(Settings(home=home), **values)  # type: ignore[arg-type]
    settings.check()
    return settings


def python_executable() -> str:
    return sys.executable
