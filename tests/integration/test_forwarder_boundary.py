"""The listener's one boundary for network input, fuzzed: ``Forwarder.handle_packet`` with real
ZeroMQ (inproc actor endpoints and events socket), no supervisord.

Whatever the bytes, handle_packet returns (None or a small receipt), counts every packet, and
never raises; ``internal_error`` staying 0 means no decoder or routing bug was met either.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oscar import receipts
from oscar.forwarder import PACKET_COMMAND_LIMIT, Forwarder
from oscar.models import Device
from oscar.osc_decode import unix_to_ntp
from oscar.schedule import Scheduler
from tests.unit import osc_corpus
from tests.unit.forwarder_rig import inproc_forwarder
from tests.unit.osc_corpus import IMMEDIATELY, bundle, msg, pad

SEEDS = list(osc_corpus.hostile("p1").values()) + [
    packet for packet, _, _ in osc_corpus.exact("p1").values()] + [
    bundle(IMMEDIATELY, msg("/group/stage/message", ",s", pad(b"GO")),
           msg("/oscar/receipt", ",s", pad(b"tok"))),
    msg("/device/p*/hex", ",s", pad(b"BEEF")),
]


@pytest.fixture(scope="module")
def forwarder():
    with inproc_forwarder({
        "p1": Device("p1", "127.0.0.1", 9001, tags=("proj", "stage")),
        "p2": Device("p2", "127.0.0.1", 9002, tags=("proj",), encoding="ascii"),
        "r1": Device("r1", "127.0.0.1", 9003, enabled=False, tags=("stage",)),
    }, events_hwm=100_000) as made:
        yield made


def _check(forwarder: Forwarder, packet: bytes) -> None:
    before = forwarder.counters["packets"]
    reply = forwarder.handle_packet(packet, "127.0.0.1:9")
    assert reply is None or len(reply) <= receipts.MAX_REPLY
    assert forwarder.counters["packets"] == before + 1
    assert forwarder.counters["internal_error"] == 0
    for link in forwarder.links.values():  # nobody acks here: keep the outboxes from filling
        link.outbox.clear()
        link.unacked.clear()


def test_every_corpus_packet_is_handled_without_raising(forwarder):
    for packet in SEEDS:
        _check(forwarder, packet)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=512))
def test_fuzz_random_bytes(forwarder, data):
    _check(forwarder, data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SEEDS), st.integers(0, 600), st.binary(min_size=1, max_size=8))
def test_fuzz_mutated_corpus(forwarder, seed, at, patch):
    at = at % (len(seed) + 1)
    _check(forwarder, seed[:at] + patch + seed[at + len(patch):])


@pytest.mark.fuzz
@settings(max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS), st.integers(0, 600), st.binary(min_size=1, max_size=16))
def test_fuzz_mutated_corpus_long(forwarder, seed, at, patch):
    at = at % (len(seed) + 1)
    _check(forwarder, seed[:at] + patch + seed[at + len(patch):])


def test_one_packet_cannot_ask_for_unbounded_commands(forwarder):
    later = unix_to_ntp(time.time() + 60).to_bytes(8, "big")
    cue = msg("/device/p*/message", ",s", pad(b"GO"))  # p1 and p2: two commands each
    count = PACKET_COMMAND_LIMIT // 2 + 10
    refused = forwarder.counters["queue_full"]
    reply = forwarder.handle_packet(bundle(later, *[cue] * count,
                                           msg("/oscar/receipt", ",s", pad(b"tok"))), "h:1")
    try:
        assert len(forwarder.scheduler) == PACKET_COMMAND_LIMIT
        assert forwarder.counters["queue_full"] == refused + 1
        assert b"refused" in reply and b"too many commands" in reply
    finally:
        forwarder.scheduler = Scheduler()
        forwarder.counters["scheduled"] = 0
