"""The listener's routing core: OSC packets in, Command messages out to device actors.

One ActorLink per device, *connected* to the actor's bound endpoint: commands for an actor that
is restarting wait (and are resent if a connection broke under them), and one slow device cannot
block another's queue.
"""

from __future__ import annotations

import logging
import os
import time

import zmq
from pythonosc.osc_packet import ParseError

from oscar import zmqutil
from oscar.actor_link import ActorLink, OutboxFull
from oscar.messages import Command, ConfigSnapshot, DeviceConfig, Event, Message
from oscar.models import Device, from_dict
from oscar.osc_routing import RouteError, command_bytes, parse_packet, route
from oscar.ratelimit import RateLimiter
from oscar.settings import Settings

log = logging.getLogger(__name__)
COUNTERS = ("packets", "forwarded", "malformed", "framing_errors", "unknown_address",
            "unknown_device", "unknown_verb", "wrong_type", "bad_escape", "bad_encoding",
            "disabled_device", "queue_full", "expired", "resent", "tcp_connections", "tcp_rejected",
            "bad_messages")


class Forwarder:
    def __init__(self, ctx: zmq.Context, settings: Settings, events: zmq.Socket):
        self.ctx = ctx
        self.settings = settings
        self.events = events
        self.devices: dict[str, Device] = {}
        self.revision = -1
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.limiter = RateLimiter()
        self.links: dict[str, ActorLink] = {}
        # Unique per listener run, so an actor can tell a resend from a new command.
        self.identity = f"listener-{os.getpid()}-{time.time():.0f}".encode()
        self._seq = 0

    # ---- desired state ---------------------------------------------------------------------

    def set_devices(self, devices: dict[str, Device], revision: int) -> None:
        self.devices = dict(devices)
        self.revision = revision
        for name in list(self.links):
            if name not in self.devices:
                self.links.pop(name).close()

    def apply(self, message: Message) -> None:
        if getattr(message, "revision", -1) < self.revision:
            return
        if isinstance(message, ConfigSnapshot):
            if message.revision > self.revision:
                self.set_devices({d["name"]: from_dict(d) for d in message.devices},
                                 message.revision)
        elif isinstance(message, DeviceConfig):
            devices = dict(self.devices)
            if message.device is None:
                devices.pop(message.name, None)
            else:
                devices[message.name] = from_dict(message.device)
            self.set_devices(devices, message.revision)

    # ---- packets -------------------------------------------------------------------------

    def handle_packet(self, packet: bytes, sender: str, received_at: float | None = None) -> None:
        received_at = time.time() if received_at is None else received_at
        self.counters["packets"] += 1
        try:
            messages = parse_packet(packet)
        except ParseError as exc:
            self.reject("malformed", f"malformed OSC packet ({len(packet)} bytes): {exc}", sender)
            return
        for address, args in messages:
            try:
                self._forward(address, args, sender, received_at)
            except RouteError as exc:
                self.reject(exc.counter, str(exc), sender, exc.device)

    def _forward(self, address: str, args: list, sender: str, received_at: float) -> None:
        found = route(address, args)
        device = self.devices.get(found.device)
        if device is None:
            raise RouteError("unknown_device", f"unknown device {found.device!r}", found.device)
        if not device.enabled:
            raise RouteError("disabled_device", f"device {found.device!r} is disabled",
                             found.device)
        data = command_bytes(found, device.encoding)
        self._seq += 1
        command = Command(device=device.name, data=data, received_at=received_at,
                          sender=sender, seq=self._seq)
        try:
            self.link(device.name).submit(command)
        except OutboxFull as exc:
            raise RouteError("queue_full", str(exc), device.name) from None
        self.counters["forwarded"] += 1

    def link(self, name: str) -> ActorLink:
        link = self.links.get(name)
        if link is None:
            link = ActorLink(self.ctx, name, self.settings.actor_endpoint(name), self.identity,
                             self._expired)
            self.links[name] = link
        return link

    def _expired(self, command: Command, reason: str) -> None:
        self.counters["expired"] += 1
        log.warning("dropped %r for %s from %s: %s", command.data[:80], command.device,
                    command.sender, reason)
        zmqutil.send(self.events, Event("listener", "dropped", f"{command.data[:80]!r}: {reason}",
                                        device=command.device, sender=command.sender))

    def housekeeping(self, now: float) -> None:
        """Retry sends to actors that were away, and expire what waited too long."""
        for name, link in self.links.items():
            link.flush()
            device = self.devices.get(name)
            if device is not None:
                link.expire(now, device.ttl)
        self.counters["resent"] = sum(link.resent for link in self.links.values())

    @property
    def waiting(self) -> int:
        return sum(link.waiting for link in self.links.values())

    def reject(self, counter: str, reason: str, sender: str, device: str = "") -> None:
        """Count, log (rate-limited per kind) and report input we cannot act on."""
        self.counters[counter] = self.counters.get(counter, 0) + 1
        if self.limiter.allow(counter):
            log.warning("rejected from %s: %s", sender or "?", reason)
            zmqutil.send(self.events, Event("listener", "rejected", f"{counter}: {reason}",
                                            device=device, sender=sender))

    def close(self) -> None:
        for link in self.links.values():
            link.close()
        self.links.clear()
