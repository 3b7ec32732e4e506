"""What the actor needs from a device's dialect: its login session and its fixed byte strings.

The login recipes themselves are pure state machines in ``oscar.devices.logins``; the actor
writes what they return and applies its own login timeout.
"""

from __future__ import annotations

import logging
from typing import Any

from oscar import escapes
from oscar.models import Device

log = logging.getLogger("oscar.actor")

LOGIN_TIMEOUT = 5.0  # a login (greeting, prompt, challenge) must finish within this, or
# within the device's reply_timeout when it has one


def start_login(device: Device) -> Any:
    """A new login session for one connection, or None when the device needs no login.
    ValueError for an unknown profile or recipe."""
    from oscar.devices import profiles

    recipe = profiles.get(device.profile).login
    if recipe == "none":
        return None
    # Only now: the recipes import hashlib, which loads OpenSSL (~3.5 MB per actor).
    from oscar.devices import logins

    return logins.start(recipe, device.username, device.password)


def login_timeout(device: Device) -> float:
    return device.reply_timeout if device.reply_timeout > 0 else LOGIN_TIMEOUT


def wire_text(device: Device, text: str) -> bytes:
    """An on_connect command or the keep-alive: escapes decoded in the device's encoding, plus
    the terminator. Validated when stored; b"" (and a log line) if it cannot be encoded."""
    try:
        return escapes.decode(text, device.encoding) + device.terminator_bytes
    except (ValueError, LookupError) as exc:
        log.warning("%s: cannot encode %r: %s", device.name, text[:60], exc)
        return b""


def reply_terminator(device: Device) -> bytes:
    try:
        return escapes.decode(device.reply_terminator, device.encoding)
    except (ValueError, LookupError):
        return b""
