"""The forwarder remembers the route of a one-string cue's address; nothing else changes:
other argument types, refused addresses and pattern addresses route exactly as before."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from oscar import forwarder as forwarder_mod
from oscar.forwarder import Forwarder
from oscar.models import Device
from tests.unit.forwarder_rig import inproc_forwarder
from tests.unit.osc_corpus import msg, pad


@pytest.fixture
def forwarder():
    with inproc_forwarder({"p1": Device("p1", "127.0.0.1", 9001),
                           "p2": Device("p2", "127.0.0.1", 9002)}) as made:
        yield made


def sent(forwarder, device: str) -> list[bytes]:
    link = forwarder.links.get(device)
    return [c.data for c in link.outbox] if link else []


def test_the_same_address_routes_the_same_whatever_came_before(forwarder):
    address = "/device/p1/message"
    forwarder.handle_packet(msg(address, ",s", pad(b"first")), "h:1")
    assert address in forwarder._routes
    forwarder.handle_packet(msg(address, ",i", struct.pack(">i", 7)), "h:1")
    forwarder.handle_packet(msg(address, ",s", pad(b"again")), "h:1")
    assert sent(forwarder, "p1") == [b"first", b"7", b"again"]


def test_a_refused_address_is_refused_every_time_and_never_remembered(forwarder):
    for _ in range(2):
        forwarder.handle_packet(msg("/device/p1/shout", ",s", pad(b"x")), "h:1")
    assert forwarder.counters["unknown_verb"] == 2
    assert "/device/p1/shout" not in forwarder._routes


def test_a_pattern_address_still_fans_out_to_the_devices_it_matches(forwarder):
    forwarder.handle_packet(msg("/device/p*/message", ",s", pad(b"all")), "h:1")
    forwarder.handle_packet(msg("/device/p*/message", ",s", pad(b"all again")), "h:1")
    assert sent(forwarder, "p1") == sent(forwarder, "p2") == [b"all", b"all again"]


def test_the_memory_is_bounded(forwarder, monkeypatch):
    monkeypatch.setattr(forwarder_mod, "ROUTE_CACHE", 4)
    for n in range(10):
        forwarder.handle_packet(msg(f"/device/nobody{n}/message", ",s", pad(b"x")), "h:1")
        forwarder.handle_packet(msg("/device/p1/raw", ",s", pad(b"x")), "h:1")
    assert len(forwarder._routes) <= 4


# ---- the fast lane: the same commands and refusals as the general path -----------------------


TEXTS = st.text(alphabet=st.sampled_from(list("ab \\rnx0Fé€\u0000\U0001f600")), max_size=12)
ADDRESSES = st.sampled_from(["/device/p1/message", "/device/p1/raw", "/device/lat/message",
                             "/device/off/message", "/device/p*/message", "/device/p1/hex",
                             "/device/p1/query"])


@pytest.fixture(scope="module")
def pair():
    devices = {"p1": Device("p1", "127.0.0.1", 9001),
               "lat": Device("lat", "127.0.0.1", 9003, encoding="latin-1"),
               "off": Device("off", "127.0.0.1", 9004, enabled=False)}
    with inproc_forwarder(devices) as fast, inproc_forwarder(devices) as slow:
        slow._fast_lane = lambda *args: False  # the general path only
        yield fast, slow


def outcome(forwarder: Forwarder, packet: bytes) -> tuple:
    for link in forwarder.links.values():
        link.outbox.clear()
        link.held = 0
    before = dict(forwarder.counters)
    forwarder.handle_packet(packet, "h:1", received_at=1000.0)
    changed = {k: v - before.get(k, 0) for k, v in forwarder.counters.items()
               if v != before.get(k, 0)}
    commands = sorted((c.device, c.data, c.terminate, c.received_at, c.sender)
                      for link in forwarder.links.values() for c in link.outbox)
    return commands, changed


@hsettings(max_examples=300, deadline=None)
@given(cues=st.lists(st.tuples(ADDRESSES, TEXTS), min_size=1, max_size=6))
def test_the_fast_lane_sends_and_refuses_exactly_what_the_general_path_does(pair, cues):
    fast, slow = pair
    for address, text in cues:
        packet = msg(address, ",s", pad(text.encode()))
        assert outcome(fast, packet) == outcome(slow, packet)


def test_a_config_change_closes_the_lane(forwarder):
    packet = msg("/device/p1/message", ",s", pad(b"go"))
    forwarder.handle_packet(packet, "h:1")
    assert "/device/p1/message" in forwarder._lanes
    forwarder.set_devices({"p1": Device("p1", "127.0.0.1", 9001, enabled=False)}, 2)
    assert forwarder._lanes == {}
    forwarder.handle_packet(packet, "h:1")
    assert forwarder.counters["disabled_device"] == 1
