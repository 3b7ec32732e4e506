"""Which hosts may send OSC to the listener (setting ``osc_allow``), with no sockets in it.

An empty list allows everyone. Entries are IP addresses or networks (``192.168.10.0/24``,
``fd00::/8``). A peer that reaches a dual-stack socket as ``::ffff:10.0.0.5`` is checked as the
IPv4 address it really is, so ``10.0.0.0/8`` covers it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from oscar.bounded import remember

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AllowListError(ValueError):
    """An entry is not an IP address or network; the message names it."""


def parse_entries(raw: str | Iterable[str]) -> tuple[Network, ...]:
    """Comma-separated text (the environment variable) or a list (oscar.toml)."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    networks: list[Network] = []
    for item in items:
        if not isinstance(item, str):
            raise AllowListError(f"entry {item!r} is not text")
        entry = item.strip()
        if not entry:
            continue
        try:
            # strict=False: "192.168.10.7/24" means the network it is in, as people write it.
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise AllowListError(
                f"entry {entry[:80]!r} is not an IP address or network (like 192.168.10.0/24)"
            ) from None
        if network.version == 6 and network.prefixlen >= 96:
            mapped = network.network_address.ipv4_mapped
            if mapped is not None:  # ::ffff:10.0.0.1 written by hand: same as 10.0.0.1
                network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
        networks.append(network)
    return tuple(networks)


class AllowList:
    def __init__(self, networks: Iterable[Network] = ()):
        self.networks = tuple(networks)
        self._cache: dict[str, bool] = {}

    @classmethod
    def parse(cls, raw: str | Iterable[str]) -> AllowList:
        return cls(parse_entries(raw))

    @property
    def everyone(self) -> bool:
        return not self.networks

    def allows(self, host: str) -> bool:
        """``host`` as the socket reports it: ``10.0.0.5``, ``::ffff:10.0.0.5``, ``fe80::1%lo``."""
        if not self.networks:
            return True
        verdict = self._cache.get(host)
        if verdict is None:
            verdict = self._check(host)
            remember(self._cache, host, verdict, 4096)  # spoofed UDP sources: bounded
        return verdict

    def _check(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def __str__(self) -> str:
        return ", ".join(str(n) for n in self.networks) or "everyone"
