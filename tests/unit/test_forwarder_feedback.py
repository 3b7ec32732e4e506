"""The forwarder's feedback side with real ZeroMQ (inproc), no supervisord: query verbs answer
the sender, refusals reach feedback, and "received" events are batched per device."""

from __future__ import annotations

import contextlib
import time

import pytest
import zmq
from hypothesis import strategies as st

from oscar import osc_decode, osc_routing, receipts, zmqutil
from oscar.messages import ActorStatus, Event
from oscar.models import Device
from oscar.osc_decode import OscMessage, decode_packet
from oscar.received_events import WINDOW, ReceivedBatch, display
from tests.unit.forwarder_rig import EVENTS, inproc_forwarder
from tests.unit.fuzzing import fuzz_pair
from tests.unit.osc_corpus import IMMEDIATELY, bundle, msg, pad
from tests.unit.test_feedback import FakeClients, FakeLinks


@contextlib.contextmanager
def make_rig():
    from oscar.feedback import Feedback
    with inproc_forwarder({
        "p1": Device("p1", "127.0.0.1", 9001, tags=("proj",)),
        "p2": Device("p2", "127.0.0.1", 9002, tags=("proj",), enabled=False),
    }) as forwarder:
        pull = forwarder.ctx.socket(zmq.PULL)
        pull.connect(EVENTS)
        feedback = Feedback(FakeLinks(), FakeClients(), forwarder.counters)
        feedback.set_devices(forwarder.devices)
        forwarder.feedback = feedback
        try:
            yield forwarder, feedback, pull
        finally:
            pull.close(linger=0)


@pytest.fixture
def rig():
    with make_rig() as made:
        yield made


@pytest.fixture(scope="module")
def shared_rig():
    with make_rig() as made:
        yield made


def answers(forwarder) -> list[tuple[str, list]]:
    out = []
    for packet in forwarder.answers:
        (message,) = decode_packet(packet)
        out.append((message.address, [v for _, v in message.args]))
    return out


def query(address: str) -> bytes:
    return msg(address, ",")


def test_routes_for_the_query_verbs():
    found = osc_routing.route(OscMessage("/device/p1/query", ()))
    assert (found.scope, found.target, found.verb) == ("device", "p1", "query")
    found = osc_routing.route(OscMessage("/oscar/check", (("s", "x"),)))
    assert (found.scope, found.verb) == ("oscar", "check")
    with pytest.raises(osc_routing.RouteError) as caught:
        osc_routing.route(OscMessage("/oscar/other", ()))
    assert caught.value.counter == "unknown_address"


def test_query_and_check_answer_the_sender(rig):
    forwarder, feedback, _ = rig
    feedback.on_message(ActorStatus(device="p1", state="ready", since=1.0, pid=3, sent=9,
                                    last_reply="OK"))
    assert forwarder.handle_packet(query("/device/p1/query"), "10.0.0.1:5000") is None
    assert answers(forwarder) == [("/oscar/device/p1/status", ["ready", 9, 0, 0, 0, "OK", ""])]
    forwarder.handle_packet(query("/group/proj/query"), "10.0.0.1:5000")  # disabled included
    assert [a[1][0] for a in answers(forwarder)] == ["ready", "disabled"]
    forwarder.handle_packet(query("/device/p*/query"), "10.0.0.1:5000")
    assert len(answers(forwarder)) == 2
    forwarder.handle_packet(query("/oscar/check"), "10.0.0.1:5000")
    assert answers(forwarder) == [("/oscar/check", ["ok"])]
    # the answers are for the sender only; nothing was forwarded
    assert forwarder.counters["forwarded"] == 0
    assert all(b"/status" not in p and b"/check" not in p for p in feedback.links.sent)
    # with a receipt, in a bundle: both
    receipt = forwarder.handle_packet(bundle(IMMEDIATELY, query("/oscar/check"),
                                             msg("/oscar/receipt", ",s", pad(b"tok"))), "h:1")
    assert receipt is not None and answers(forwarder) == [("/oscar/check", ["ok"])]
    # the next packet starts with no answers
    forwarder.handle_packet(msg("/device/p1/message", ",s", pad(b"GO")), "h:1")
    assert forwarder.answers == []


def test_query_for_an_unknown_device_is_refused_and_reported(rig):
    forwarder, feedback, _ = rig
    forwarder.handle_packet(query("/device/nope/query"), "127.0.0.1:5000")
    assert forwarder.answers == [] and forwarder.counters["unknown_device"] == 1
    forwarder.handle_packet(query("/device/zz*/query"), "127.0.0.1:5000")
    assert forwarder.counters["unknown_device"] == 2
    # a refusal reaches feedback from the listener itself (registry not needed)
    sent = [decode_packet(p)[0] for p in feedback.links.sent]
    assert [m.address for m in sent[-2:]] == ["/oscar/error", "/oscar/error"]
    assert len(feedback.clients.to["127.0.0.1:5000"]) == 2  # the TCP sender too


def test_query_answers_are_rate_limited_per_sender_host(rig):
    forwarder, _, _ = rig
    got = 0
    for port in range(receipts.PER_SECOND + 10):
        forwarder.handle_packet(query("/oscar/check"), f"10.9.9.9:{port}")
        got += len(forwarder.answers)
    assert got == receipts.PER_SECOND


def test_refusal_for_a_known_device_is_a_device_error(rig):
    forwarder, feedback, _ = rig
    forwarder.handle_packet(msg("/device/p1/power", ",s", pad(b"on")), "h:1")
    (message,) = decode_packet(feedback.links.sent[-1])
    assert message.address == "/oscar/device/p1/error"
    assert message.args[0][1].startswith("unknown_verb")


def drain_events(pull) -> list[Event]:
    out = []
    while True:
        message = zmqutil.receive(pull)
        if message is None:
            return out
        out.append(message)


def test_received_events_are_batched_per_device(rig):
    forwarder, _, pull = rig
    for n in range(300):
        forwarder.handle_packet(msg("/device/p1/message", ",s", pad(b"CUE %d" % n)), "h:7")
    forwarder.housekeeping(time.time())
    assert [e for e in drain_events(pull) if e.event == "received"] == []  # window open
    time.sleep(WINDOW + 0.05)
    forwarder.housekeeping(time.time())
    (event,) = [e for e in drain_events(pull) if e.event == "received"]
    assert (event.source, event.device, event.sender) == ("listener", "p1", "h:7")
    assert event.detail == "300 cues received, last: CUE 299"
    assert event.topic() == b"event.device.p1:received"


def test_received_batch_texts():
    batch = ReceivedBatch()
    assert batch.next_due() is None and batch.flush() == []
    batch.add("a", b"%1POWR 1", "s:1")
    batch.add("b", b"\x02\xff", "s:2")
    batch.add("b", b"X\tY", "s:3")
    assert len(batch) == 2 and batch.next_due() is not None
    events = {e.device: e for e in batch.flush()}
    assert events["a"].detail == "cue received: %1POWR 1" and events["a"].sender == "s:1"
    assert events["b"].detail == "2 cues received, last: X\\tY" and events["b"].sender == "s:3"
    assert display(b"\x02\xff") == "\\x02\\xff"
    assert len(display(b"x" * 10_000)) == 200
    assert batch.next_due() is None


QUERY_ADDRESSES = st.sampled_from(["/device/p1/query", "/device/p*/query", "/group/proj/query",
                                   "/oscar/check", "/device/[/query", "/device/{p1,/query",
                                   "/device//query", "/group/*/query", "/oscar/check/x"])
OSC_ARGS = st.lists(st.sampled_from([("s", "x"), ("i", 3), ("b", b"\0\xff"), ("N", None),
                                     ("T", True), ("f", 1.5)]), max_size=4)


def check_queries(shared_rig, address, args, wrap):
    forwarder, _, _ = shared_rig
    packet = osc_decode.encode_message(address, args)
    if wrap:
        packet = bundle(IMMEDIATELY, packet, packet)
    before = forwarder.counters["packets"]
    forwarder.handle_packet(packet, "10.1.1.1:1")
    assert forwarder.counters["packets"] == before + 1
    assert forwarder.counters["internal_error"] == 0
    assert forwarder.counters["forwarded"] == 0  # a query never sends anything
    assert len(forwarder.answers) <= 2 * 64
    for answer in forwarder.answers:
        decode_packet(answer)  # well-formed OSC


test_query_packets_fuzz, test_query_packets_fuzz_long = fuzz_pair(
    QUERY_ADDRESSES, OSC_ARGS, st.booleans())(check_queries)
