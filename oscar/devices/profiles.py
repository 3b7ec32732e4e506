"""Device profiles: the defaults a kind of gear needs, as data, and the login recipe it uses.

A profile only fills in defaults when a device is added (or its profile changed): the stored
device record is concrete, and a field the operator sets wins over the profile. Text fields
(terminator, keepalive, on_connect, reply_terminator) are stored as the operator would type them,
in Oscar's escape syntax (``oscar.escapes``): ``"\\\\r"`` here is backslash + r, which becomes CR
on the wire. The wire facts behind each profile are in docs/devices.md.
"""

from __future__ import annotations

from typing import Any

from oscar.records import field, record

# The Device fields a profile may set (contract A); anything else in ``defaults`` is a bug.
DEFAULTABLE_FIELDS = frozenset({
    "port", "terminator", "transport", "connection", "idle_close", "keepalive",
    "keepalive_interval", "reply_timeout", "reply_terminator", "wait_for_reply", "min_gap",
    "on_connect",
})


@record(frozen=True)
class Profile:
    """One kind of gear.

    ``login`` names the recipe in ``oscar.devices.logins`` ("none": connected means ready).
    ``needs`` lists the device fields the operator fills in beyond the profile's defaults; a
    password the device does not ask for may stay blank (``notes`` says which are optional).
    """

    name: str
    title: str
    defaults: dict[str, Any] = field(default_factory=dict)
    login: str = "none"
    needs: tuple[str, ...] = ("host",)
    notes: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.defaults) - DEFAULTABLE_FIELDS
        if unknown:
            raise ValueError(f"profile {self.name}: not profile fields: {sorted(unknown)}")
        object.__setattr__(self, "defaults", dict(self.defaults))  # never the caller's dict


_ALL = (
    Profile(
        name="generic",
        title="Plain TCP text (Oscar's classic behaviour)",
        defaults={"terminator": "\\r", "transport": "tcp", "connection": "persistent"},
        login="none",
        needs=("host", "port"),
        notes="One connection held open; each command is written with the terminator. "
              "No login, no keep-alive.",
    ),
    Profile(
        name="pjlink",
        title="PJLink projector (class 1)",
        defaults={"port": 4352, "terminator": "\\r", "connection": "on-demand",
                  "idle_close": 25.0, "wait_for_reply": True, "reply_timeout": 3.0},
        login="pjlink",
        needs=("host", "password"),
        notes="Greeting PJLINK 0 (open) or PJLINK 1 <random> (password): the MD5 prefix is "
              "built per connection. Leave the password blank for an open projector. The "
              "projector closes idle connections after ~30 s, so Oscar connects on demand and "
              "closes after 25 s idle. Commands: %1POWR 1, %1POWR 0, %1INPT 31, %1AVMT 31.",
    ),
    Profile(
        name="ntcontrol",
        title="Panasonic projector (NTCONTROL)",
        defaults={"port": 1024, "terminator": "\\r", "connection": "per-command",
                  "reply_timeout": 3.0},
        login="ntcontrol",
        needs=("host", "username", "password"),
        notes="Write the bare command (PON, POF, QPW): Oscar adds the '00' header and, when the "
              "projector greets with NTCONTROL 1 <random>, the md5(user:password:random) prefix. "
              "Older firmware closes after each answer: one connection per command. Panasonic's "
              "factory login is admin1 / panasonic.",
    ),
    Profile(
        name="extron-sis",
        title="Extron SIS switcher / scaler",
        defaults={"port": 23, "terminator": "", "keepalive": "Q", "keepalive_interval": 240.0,
                  "reply_timeout": 10.0, "reply_terminator": "\\r\\n"},
        login="extron",
        needs=("host", "password"),
        notes="SIS commands carry no terminator (1*2! ties input 1 to output 2). The password "
              "is only needed when the unit shows a Password: prompt. Extron closes idle "
              "connections after 5 min: Q is sent every 4 min.",
    ),
    Profile(
        name="videohub",
        title="Blackmagic Videohub router",
        defaults={"port": 9990, "terminator": "\\n\\n", "keepalive": "PING:",
                  "keepalive_interval": 15.0, "reply_timeout": 30.0,
                  "reply_terminator": "\\n\\n"},
        login="videohub",
        needs=("host",),
        notes="A command is a block: VIDEO OUTPUT ROUTING:\\n4 2 (output 4 from input 2, "
              "0-based); the terminator adds the blank line. The state dump sent on connect is "
              "drained before commands flow. PING: every 15 s; 30 s without an answer = dead.",
    ),
    Profile(
        name="watchout",
        title="Dataton WATCHOUT production/display computer",
        defaults={"port": 3040, "terminator": "\\r", "on_connect": ("authenticate 1",)},
        login="watchout",
        needs=("host",),
        notes="authenticate 1 is sent on every connect (otherwise WATCHOUT answers "
              "error 8.1 not authorized, shown as auth_failed). Port 3039 for a display "
              "computer.",
    ),
    Profile(
        name="kramer-p3000",
        title="Kramer switcher (Protocol 3000)",
        defaults={"port": 5000, "terminator": "\\r", "keepalive": "#MODEL?",
                  "keepalive_interval": 50.0, "reply_timeout": 10.0,
                  "reply_terminator": "\\r\\n"},
        login="kramer",
        needs=("host", "password"),
        notes="Oscar sends the # handshake and, with a password set, #LOGIN. Commands as "
              "typed: #VID 1>2. Some units listen on port 23 instead of 5000.",
    ),
    Profile(
        name="christie",
        title="Christie projector (serial API over TCP)",
        defaults={"port": 3002, "terminator": "", "reply_terminator": ")"},
        login="none",
        needs=("host",),
        notes="Parenthesised commands with no terminator: (PWR1), (PWR0), (PWR?).",
    ),
    Profile(
        name="sony-adcp",
        title="Sony projector / display (ADCP)",
        defaults={"port": 53595, "terminator": "\\r\\n", "reply_terminator": "\\r\\n",
                  "connection": "on-demand", "idle_close": 50.0, "reply_timeout": 5.0},
        login="adcp",
        needs=("host", "password"),
        notes="Greeting NOKEY (no authentication) or a challenge answered with "
              "sha256(challenge + password). Commands: power \"on\", power \"off\".",
    ),
    Profile(
        name="epson-escvp",
        title="Epson projector (ESC/VP.net)",
        defaults={"port": 3629, "terminator": "\\r", "reply_terminator": ":",
                  "reply_timeout": 5.0},
        login="escvp",
        needs=("host",),
        notes="Oscar opens with the 16-byte ESC/VP.net header (with the password, if set, for "
              "a projector with Web Control password protection). Commands: PWR ON, PWR OFF, "
              "SOURCE 30; every answer ends with a ':' prompt.",
    ),
)

PROFILES: dict[str, Profile] = {profile.name: profile for profile in _ALL}


def get(name: str) -> Profile:
    """The profile called ``name``; an unknown name raises ValueError listing the known ones."""
    profile = PROFILES.get(name) if isinstance(name, str) else None
    if profile is None:
        shown = repr(name)[:70]
        raise ValueError(f"unknown profile {shown}; known: {', '.join(PROFILES)}")
    return profile
