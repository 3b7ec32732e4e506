"""``oscar info`` and ``oscar --version``: what this Oscar is and where it keeps everything.
Works without Oscar running (it only asks supervisord, briefly, whether it is up)."""

from __future__ import annotations

import http.client
import importlib.metadata
import json
import platform
import sys
import xmlrpc.client
from typing import Any

from oscar import home as home_mod
from oscar.settings import Settings

DISTRIBUTION = "oscar"


def version() -> str:
    """The installed distribution's version (package metadata); the source's in a bare tree."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from oscar import __version__

        return __version__


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    import zmq

    return {"oscar": version(), "python": platform.python_version(),
            "supervisor": _dist_version("supervisor"), "pyzmq": zmq.pyzmq_version(),
            "libzmq": zmq.zmq_version(), "flask": _dist_version("flask"),
            "waitress": _dist_version("waitress"), "python-osc": _dist_version("python-osc")}


def _running(settings: Settings) -> dict[str, Any]:
    from oscar import launcher

    if not settings.supervisor_socket.exists():
        pid = launcher.proc_scan.pidfile_pid(settings.run_dir / "supervisord.pid")
        return {"running": pid is not None, "supervisord_pid": pid}
    try:
        pid = int(launcher._rpc(settings, timeout=2.0).getPID())
        return {"running": True, "supervisord_pid": pid}
    except (OSError, http.client.HTTPException, xmlrpc.client.Error):
        pid = launcher.proc_scan.pidfile_pid(settings.run_dir / "supervisord.pid")
        return {"running": pid is not None, "supervisord_pid": pid}


def collect(settings: Settings, home: home_mod.Home) -> dict[str, Any]:
    from oscar.launcher import CONFIG

    web_host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::") else settings.web_host
    return {
        "version": version(),
        "home": str(settings.home),
        "home_source": home.source,
        "config_file": str(settings.home / "oscar.toml"),
        "config_file_exists": (settings.home / "oscar.toml").is_file(),
        "supervisord_config": str(CONFIG),
        "installed_from": "checkout" if home_mod.is_checkout() else "package",
        "python": sys.executable,
        "ports": {"osc_udp": settings.osc_udp_port, "osc_tcp": settings.osc_tcp_port,
                  "osc_host": settings.osc_host, "web": settings.web_port,
                  "web_host": settings.web_host},
        "web_url": f"http://{web_host}:{settings.web_port}/",
        "endpoints": {**settings.endpoints(),
                      "supervisor": f"unix://{settings.supervisor_socket}"},
        "log_dir": str(settings.log_dir),
        "socket_dir": str(settings.socket_dir),
        "store": str(settings.db_path),
        **_running(settings),
        "versions": versions(),
    }


SOURCES = {"OSCAR_HOME": "from OSCAR_HOME", "checkout": "the checkout's var/",
           "user": "installed, per user", "system": "installed, system service"}


def text(info: dict[str, Any]) -> str:
    ports = info["ports"]
    running = (f"yes, supervisord pid {info['supervisord_pid']}" if info["running"]
               else "no (start it with `oscar run` or `oscar run --daemon`)")
    rows = [
        ("version", info["version"]),
        ("home", f"{info['home']} ({SOURCES.get(info['home_source'], info['home_source'])})"),
        ("config file", info["config_file"]
         + ("" if info["config_file_exists"] else " (not present: built-in defaults)")),
        ("supervisord config", info["supervisord_config"]),
        ("python", info["python"]),
        ("OSC", f"UDP {ports['osc_udp']} and TCP {ports['osc_tcp']} on {ports['osc_host']}"),
        ("web UI", f"{info['web_url']} (listening on {ports['web_host']}:{ports['web']})"),
        ("logs", info["log_dir"]),
        ("store", info["store"]),
        ("sockets", info["socket_dir"]),
        *((f"endpoint {name}", value) for name, value in info["endpoints"].items()),
        ("running", running),
        ("versions", ", ".join(f"{k} {v}" for k, v in info["versions"].items())),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def run_cli(settings: Settings, as_json: bool) -> int:
    info = collect(settings, home_mod.from_environment())
    print(json.dumps(info, indent=2) if as_json else text(info))
    return 0
