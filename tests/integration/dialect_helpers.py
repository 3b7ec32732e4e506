"""Driving Oscar against the device emulators (tests/emulators): add devices, send cues, read
what the operator would see."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support import OscarSystem, osc_message, wait_for

READY_STATES = ("ready", "idle")


def cue(system: OscarSystem, name: str, text: str) -> float:
    """Send one cue over UDP; returns its time.monotonic() send time."""
    sent = time.monotonic()
    system.send_udp(osc_message(f"/device/{name}/message", text))
    return sent


def add_devices(system: OscarSystem, devices: list[dict[str, Any]],
                with_cli: tuple[str, ...] = ()) -> None:
    """Add devices (those named in ``with_cli`` with ``oscar device add``, the others through
    the registry client), then wait until each actor reports a status (so the listener knows
    every device and cues are not refused as unknown)."""
    for device in devices:
        if device["name"] in with_cli:
            cli_add(system, device)
        else:
            system.call("add", device={"host": "127.0.0.1", **device})
    for device in devices:
        name = device["name"]
        wait_for(lambda n=name: system.program_state(f"oscar-device-{n}") == "RUNNING",
                 timeout=30, message=f"oscar-device-{name} RUNNING")
        system.pid_of(f"oscar-device-{name}")
        wait_for(lambda n=name: system.device_status(n)["pid"], timeout=20,
                 message=f"first status of {name}")


@contextmanager
def added(system: OscarSystem, devices: list[dict[str, Any]]) -> Iterator[None]:
    """The devices, for one test: removed again at the end (their actors stopped), so none
    keeps retrying a port a later test's emulator may be given."""
    try:
        add_devices(system, devices)
        yield
    finally:
        for device in devices:
            name = device["name"]
            system.call("remove", name=name)
            wait_for(lambda n=name: system.program_state(f"oscar-device-{n}") == "ABSENT",
                     timeout=20, message=f"oscar-device-{name} removed")


def cli_add(system: OscarSystem, device: dict[str, Any]) -> None:
    """``oscar device add NAME 127.0.0.1 PORT --field-name VALUE ...``"""
    options = {key: value for key, value in device.items() if key not in ("name", "port")}
    args = ["device", "add", device["name"], "127.0.0.1", str(device["port"])]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    result = system.cli(*args)
    assert result.returncode == 0, result.stderr


def shown(text: str) -> str:
    """A reply as the status/activity shows it, with its \\r and \\n escapes read back."""
    return text.replace("\\r", "\r").replace("\\n", "\n").strip()


def status_json(system: OscarSystem, name: str) -> dict[str, Any]:
    """``oscar status --json NAME``: the row of NAME, as an operator's script would read it."""
    result = system.cli("status", "--json", name)
    assert result.returncode == 0, result.stderr
    rows = [row for row in json.loads(result.stdout)["devices"] if row["name"] == name]
    assert len(rows) == 1, result.stdout
    return rows[0]


def events(system: OscarSystem, name: str, kind: str = "") -> list[dict[str, Any]]:
    """The device's activity, oldest first (optionally one kind of event only)."""
    rows = system.call("activity", device=name, limit=2000)
    return [row for row in reversed(rows) if not kind or row["event"] == kind]
