"""What the System page and /api/system show: the registry's view plus the web process's own."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from typing import Any

import zmq

from oscar.web.registry import Registry, RegistryError, RegistryUnavailable

PACKAGES = ("flask", "waitress", "pyzmq", "supervisor", "python-osc", "msgpack")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "libzmq": zmq.zmq_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def collect(registry: Registry, web_started_at: float) -> dict[str, Any]:
    """Never raises for a registry that is down: ``registry.reachable`` says so instead."""
    now = time.time()
    settings = registry.settings
    info: dict[str, Any] = {
        "at": now,
        "web": {"pid": os.getpid(), "started_at": web_started_at,
                "uptime": now - web_started_at, "host": settings.web_host,
                "port": settings.web_port},
        "versions": versions(),
        "registry": {"reachable": False, "endpoint": settings.control, "error": ""},
    }
    started = time.monotonic()
    try:
        system = registry.call("system")
    except (RegistryUnavailable, RegistryError) as exc:
        info["registry"]["error"] = str(exc)
        info["endpoints"] = settings.endpoints()
        return info
    info["registry"].update(
        reachable=True, latency_ms=round((time.monotonic() - started) * 1000, 1),
        pid=system["registry_pid"], started_at=system["registry_started_at"],
        uptime=now - system["registry_started_at"])
    info["versions"]["oscar"] = system["version"]
    for key in ("home", "osc", "endpoints", "processes", "supervisor_error", "listener",
                "schema_version", "revision", "history", "feedback"):
        info[key] = system.get(key)
    return info
