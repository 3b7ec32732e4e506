"""Which devices a cue goes to (patterns, groups), and the receipt ``oscar send`` gets back."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oscar import osc_decode, receipts
from oscar.forwarder import Outcome, select
from oscar.models import Device
from oscar.osc_routing import RouteError
from oscar.ratelimit import RateLimiter


def devices(*specs):
    """(name, enabled, tags) -> Devices in name order, as the forwarder keeps them."""
    made = [Device(name=n, host="127.0.0.1", port=9000, enabled=e, tags=tuple(sorted(t)))
            for n, e, t in specs]
    return sorted(made, key=lambda d: d.name)


RACK = devices(("proj1", True, ["proj", "stage-left"]), ("proj2", True, ["proj"]),
               ("proj3", False, ["proj"]), ("router", True, ["stage-left"]),
               ("projector-x", True, []))


def names(chosen):
    return [d.name for d in chosen]


@pytest.mark.parametrize("pattern, expected", [
    ("proj*", ["proj1", "proj2", "projector-x"]),
    ("proj?", ["proj1", "proj2"]),
    ("proj[12]", ["proj1", "proj2"]),
    ("proj[1-2]", ["proj1", "proj2"]),
    ("proj[!1]", ["proj2"]),
    ("{router,proj2}", ["proj2", "router"]),
    ("*", ["proj1", "proj2", "projector-x", "router"]),
])
def test_a_pattern_reaches_every_enabled_matching_device_in_name_order(pattern, expected):
    assert names(select(RACK, "device", pattern)) == expected


def test_a_disabled_device_is_skipped_by_a_pattern_and_none_left_is_unknown_device():
    with pytest.raises(RouteError) as caught:
        select(RACK, "device", "proj3*")
    assert caught.value.counter == "unknown_device"
    with pytest.raises(RouteError) as caught:
        select(RACK, "device", "nothing*")
    assert caught.value.counter == "unknown_device"


def test_a_group_reaches_every_enabled_device_carrying_the_tag():
    assert names(select(RACK, "group", "proj")) == ["proj1", "proj2"]
    assert names(select(RACK, "group", "stage-left")) == ["proj1", "router"]
    assert names(select(RACK, "group", "stage-*")) == ["proj1", "router"]
    assert names(select(RACK, "group", "{proj,stage-left}")) == ["proj1", "proj2", "router"]
    with pytest.raises(RouteError) as caught:
        select(RACK, "group", "pro")  # a plain tag matches whole tags only
    assert caught.value.counter == "unknown_device"


def test_a_malformed_pattern_is_refused_not_raised_raw():
    with pytest.raises(RouteError) as caught:
        select(RACK, "device", "proj[1")
    assert caught.value.counter == "bad_pattern"


def test_outcome_says_where_the_cue_went_or_why_not():
    outcome = Outcome(sent=["proj1", "proj2"])
    assert outcome.status() == ("ok", "forwarded to 2 devices: proj1, proj2")
    outcome = Outcome(scheduled=["proj1"])
    assert outcome.status() == ("ok", "scheduled for 1 device: proj1")
    assert Outcome().status() == ("ok", "nothing to forward")
    outcome = Outcome(sent=["proj1"], error="unknown_device: unknown device 'x'")
    assert outcome.status() == ("refused", "unknown_device: unknown device 'x'")


def test_a_receipt_is_small_whatever_it_carries():
    reply = receipts.encode_reply("t" * 64, "refused", "é" * 5000)
    assert len(reply) <= receipts.MAX_REPLY
    [message] = osc_decode.decode_packet(reply)
    assert message.address == "/oscar/receipt"
    assert [tag for tag, _ in message.args] == ["s", "s", "s"]
    assert message.args[0][1] == "t" * 64 and message.args[1][1] == "refused"
    assert message.args[2][1].endswith("...")
    assert len(receipts.encode_reply("é" * 64, "é" * 20, "é" * 999)) <= receipts.MAX_REPLY


def test_receipt_tokens_must_be_one_short_string():
    assert receipts.token_of((("s", "abc"),)) == "abc"
    assert receipts.token_of((("s", "x" * 65),)) is None
    assert receipts.token_of((("s", ""),)) is None
    assert receipts.token_of((("i", 3),)) is None
    assert receipts.token_of((("s", "a"), ("s", "b"))) is None
    assert receipts.token_of(()) is None


def test_receipts_are_rate_limited_per_sender_host():
    clock = [0.0]
    limiter = RateLimiter(per_second=3, max_keys=2, clock=lambda: clock[0])
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("10.0.0.2")
    clock[0] = 1.0
    assert limiter.allow("10.0.0.1")
    for index in range(100):  # spoofed sources: the table stays bounded
        limiter.allow(f"10.1.0.{index}")
    assert len(limiter._windows) <= 2 and len(limiter.suppressed) <= 2


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100), st.text(max_size=20), st.text(max_size=2000))
def test_fuzz_receipts_always_decode_and_stay_small(token, status, detail):
    token = token.replace("\0", "") or "t"
    reply = receipts.encode_reply(token, status.replace("\0", ""), detail.replace("\0", ""))
    assert len(reply) <= receipts.MAX_REPLY
    assert osc_decode.decode_packet(reply)[0].address == receipts.ADDRESS
