"""Answers to ``oscar send``: did the listener forward the cue, and to how many devices.

The CLI ends its bundle with ``/oscar/receipt s TOKEN``; after handling the elements before it,
the listener answers the sender with ``/oscar/receipt s TOKEN s STATUS s DETAIL`` (STATUS is
``ok`` or ``refused``). A spoofed UDP source must not turn this into an amplifier: an answer is
never longer than ``MAX_REPLY`` bytes, and each sender host gets a few per second at most.
"""

from __future__ import annotations

ADDRESS = "/oscar/receipt"
MAX_TOKEN = 64
MAX_DETAIL = 180  # bytes; with the token and status the answer stays under MAX_REPLY
MAX_REPLY = 300
PER_SECOND = 20  # answers per sender host (see Forwarder: a RateLimiter keyed by host)
MAX_HOSTS = 4096


def _osc_string(text: str) -> bytes:
    data = text.encode("utf-8") + b"\0"
    return data + b"\0" * (-len(data) % 4)


def clip(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[:limit - 3].decode("utf-8", "ignore") + "..."


def token_of(args: tuple) -> str | None:
    """The token of a ``/oscar/receipt s TOKEN`` request, or None if it is not one."""
    if len(args) != 1 or args[0][0] != "s" or not isinstance(args[0][1], str):
        return None
    token = args[0][1]
    if not 0 < len(token) <= MAX_TOKEN or "\0" in token:
        return None
    return token


def encode_reply(token: str, status: str, detail: str) -> bytes:
    reply = (_osc_string(ADDRESS) + _osc_string(",sss") + _osc_string(clip(token, MAX_TOKEN))
             + _osc_string(clip(status, 8)) + _osc_string(clip(detail, MAX_DETAIL)))
    assert len(reply) <= MAX_REPLY
    return reply
