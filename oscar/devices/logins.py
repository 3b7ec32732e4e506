"""Login recipes: one pure session per connection (contract B).

    session = logins.start(profile.login, device.username, device.password)
    step = session.opening()            # right after TCP connect: write step.send
    step = session.feed(received_bytes)  # until step.state is "ready" or "failed"
    # ready: step.rest are replies; put session.prefix in front of the first command
    # (every command if session.prefix_every); after ready, session.reply_failed(line) says
    # whether a reply line is an authentication refusal (text for the operator) or not (None).

Sessions never raise on what a device sends: a bad greeting is ``Step(state="failed")`` with an
operator-readable ``detail`` (never containing the password). Buffers are bounded (a greeting line
longer than 4 KiB = failed). ``start`` raises ValueError only for an unknown recipe name.

``Step.send`` can carry the password itself (Extron, Kramer, Epson send it in clear, as their
protocols require): never log it.
"""

from __future__ import annotations

from collections.abc import Callable

from oscar.devices.login_base import MAX_GREETING, LoginSession, Step
from oscar.devices.login_escvp import EscvpSession, escvp_connect_header, parse_escvp_header
from oscar.devices.login_projectors import (
    AdcpSession,
    NtcontrolSession,
    PjlinkSession,
    adcp_answer,
    ntcontrol_digest,
    pjlink_digest,
)
from oscar.devices.login_switchers import (
    ExtronSession,
    KramerSession,
    NoLogin,
    VideohubSession,
    WatchoutSession,
)

__all__ = [
    "MAX_GREETING", "RECIPES", "LoginSession", "Step", "adcp_answer", "escvp_connect_header",
    "ntcontrol_digest", "parse_escvp_header", "pjlink_digest", "start",
]

RECIPES: dict[str, Callable[[str, str], LoginSession]] = {
    "none": NoLogin,
    "pjlink": PjlinkSession,
    "ntcontrol": NtcontrolSession,
    "adcp": AdcpSession,
    "escvp": EscvpSession,
    "extron": ExtronSession,
    "kramer": KramerSession,
    "videohub": VideohubSession,
    "watchout": WatchoutSession,
}


def start(recipe: str, username: str = "", password: str = "") -> LoginSession:
    """A fresh session for one connection. Unknown recipe -> ValueError listing the known."""
    factory = RECIPES.get(recipe) if isinstance(recipe, str) else None
    if factory is None:
        raise ValueError(f"unknown login recipe {repr(recipe)[:70]}; known: {', '.join(RECIPES)}")
    return factory(username or "", password or "")
