"""Feedback targets: where Oscar sends device replies, states and errors as OSC.

A target is written ``udp://HOST:PORT`` or ``tcp://HOST:PORT`` (TCP with SLIP framing, as QLab
and Companion speak it). IPv6 hosts go in brackets: ``udp://[::1]:9000``. The setting
``feedback`` (env ``OSCAR_FEEDBACK``) is a comma-separated list of them.

``parse_target`` and ``parse_targets`` raise ValueError, and nothing else, with a message an
operator can act on; the offending text is quoted, cut short.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from oscar.records import record

SCHEMES = ("udp", "tcp")
MAX_TARGETS = 32
MAX_TARGET_TEXT = 300  # a host name is at most 253 characters
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")


@record(frozen=True, order=True)
class Target:
    scheme: str  # "udp" or "tcp"
    host: str  # name or IP address, without brackets
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:59] + "\u2026")


def _check_host(host: str, text: str) -> str:
    if not host:
        raise ValueError(f"feedback target {_quote(text)} has no host")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if ":" in host:
        raise ValueError(f"feedback target {_quote(text)}: {_quote(host)} is not an IPv6 address")
    labels = host.split(".")
    if (len(host) > 253 or not set(host) <= _HOST_CHARS
            or any(not label or len(label) > 63 or label.startswith("-") or label.endswith("-")
                   for label in labels)):
        raise ValueError(f"feedback target {_quote(text)}: {_quote(host)} is not a host name "
                         "or IP address")
    return host.lower()


def parse_target(text: str) -> Target:
    """``udp://host:port`` or ``tcp://host:port`` -> Target; ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"feedback target must be text, got {type(text).__name__}")
    raw = text
    text = text.strip()
    if not text:
        raise ValueError("feedback target is empty")
    if len(text) > MAX_TARGET_TEXT:
        raise ValueError(f"feedback target {_quote(text)} is longer than {MAX_TARGET_TEXT} "
                         "characters")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ValueError(f"feedback target {_quote(raw)} must look like udp://HOST:PORT or "
                         "tcp://HOST:PORT")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"feedback target {_quote(raw)}: scheme must be udp or tcp, "
                         f"not {_quote(scheme)}")
    if "/" in rest or "?" in rest or "#" in rest or "@" in rest:
        raise ValueError(f"feedback target {_quote(raw)}: only HOST:PORT may follow "
                         f"{scheme}://")
    if rest.startswith("["):
        host, bracket, after = rest[1:].partition("]")
        if not bracket:
            raise ValueError(f"feedback target {_quote(raw)}: missing ']' after the IPv6 "
                             "address")
        if not after.startswith(":"):
            raise ValueError(f"feedback target {_quote(raw)} has no port (HOST:PORT)")
        port_text = after[1:]
        if ":" not in host:
            raise ValueError(f"feedback target {_quote(raw)}: brackets are for IPv6 addresses")
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            raise ValueError(f"feedback target {_quote(raw)} has no port (HOST:PORT)")
        if ":" in host:
            raise ValueError(f"feedback target {_quote(raw)}: write IPv6 addresses in brackets, "
                             f"e.g. {scheme}://[::1]:9000")
    if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
        raise ValueError(f"feedback target {_quote(raw)}: port {_quote(port_text)} is not a "
                         "number 1-65535")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"feedback target {_quote(raw)}: port {port} is not 1-65535")
    return Target(scheme, _check_host(host, raw), port)


def parse_targets(value: str | Iterable[str]) -> list[Target]:
    """A comma-separated text or a list of target texts -> targets, duplicates removed (first
    kept, order kept). Empty text or list -> []. ValueError for any bad entry or more than
    MAX_TARGETS targets."""
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
        for item in items:
            if not isinstance(item, str):
                raise ValueError(f"feedback targets must be texts, got {type(item).__name__}")
    else:
        raise ValueError("feedback targets must be a text or a list of texts, "
                         f"got {type(value).__name__}")
    if len(items) > MAX_TARGETS:
        raise ValueError(f"at most {MAX_TARGETS} feedback targets, got {len(items)}")
    out: list[Target] = []
    for item in items:
        target = parse_target(item)
        if target not in out:
            out.append(target)
    return out
