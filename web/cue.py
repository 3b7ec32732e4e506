"""The "send test command" button: a real OSC message to the listener over UDP, exactly what
QLab would send, so a command that arrives proves the whole route (listener, actor, device)."""

from __future__ import annotations

import logging
from typing import Any

from oscar import osc_send
from oscar.settings import Settings

log = logging.getLogger(__name__)
MAX_TEXT = 4000  # well inside one UDP datagram


class CueError(ValueError):
    def __init__(self, message: str, code: str = "not_sent"):
        self.code = code
        super().__init__(message)


def listener_address(settings: Settings) -> tuple[str, int]:
    host = settings.osc_host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, settings.osc_udp_port


def send_test_cue(settings: Settings, device: dict[str, Any], text: str) -> str:
    """Send ``/device/NAME/message text`` for a device record; returns where it went."""
    name = device["name"]
    if not device["enabled"]:
        raise CueError("the device is disabled, so the listener would refuse it", "disabled")
    if not text:
        raise CueError("type a command to send")
    if len(text) > MAX_TEXT:
        raise CueError(f"the command is longer than {MAX_TEXT} characters")
    host, port = listener_address(settings)
    try:
        osc_send.send(osc_send.build(name, [text]), host, port)
    except OSError as exc:
        raise CueError(f"cannot send to the OSC listener at {host}:{port}: "
                       f"{exc.strerror or exc}") from None
    log.info("test command for %s sent to %s:%d", name, host, port)
    return f"{host}:{port}"
