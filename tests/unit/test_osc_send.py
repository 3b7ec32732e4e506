"""``oscar send`` argument parsing and the request/receipt packets (no sockets)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oscar import osc_decode, osc_send, receipts
from oscar.osc_send import UsageError, parse


def test_plain_words_are_strings_and_typed_options_keep_their_place():
    request = parse(["sw", "SET", "-i", "3", "GAIN", "-f", "0.5", "-T", "-F", "-s", "-x",
                     "-d", "-1.25", "-c", "Z", "-N", "-I", "-b", "BE EF"])
    assert request.address == "/device/sw/message"
    assert request.args == [("s", "SET"), ("i", 3), ("s", "GAIN"), ("f", 0.5), ("T", True),
                            ("F", False), ("s", "-x"), ("d", -1.25), ("c", "Z"), ("N", None),
                            ("I", osc_decode.INFINITUM), ("b", b"\xbe\xef")]


def test_connection_options_anywhere():
    request = parse(["--tcp", "proj1", "hello", "--port", "5000", "--host", "10.0.0.2", "-5"])
    assert (request.tcp, request.port, request.host) == (True, 5000, "10.0.0.2")
    assert request.args == [("s", "hello"), ("s", "-5")]


def test_everything_after_double_dash_is_a_string():
    assert parse(["p", "--", "-i", "--tcp"]).args == [("s", "-i"), ("s", "--tcp")]


def test_verbs_and_groups():
    assert parse(["--raw", "p", "x"]).address == "/device/p/raw"
    request = parse(["--hex", "p", "BE", "EF", "03"])
    assert request.address == "/device/p/hex" and request.args == [("s", "BE EF 03")]
    request = parse(["--group", "stage-left", "--raw", "GO"])
    assert request.address == "/group/stage-left/raw"
    assert parse(["proj*", "ON"]).address == "/device/proj*/message"


@pytest.mark.parametrize("argv, message", [
    (["p", "x", "--port", "99999"], "--port 99999: must be 1-65535"),
    (["p", "x", "--port", "0"], "must be 1-65535"),
    (["p", "x", "--port", "web"], "must be 1-65535"),
    (["p", "-i", "three"], "-i 'three'"),
    (["p", "-i", str(2**31)], "32-bit"),
    (["p", "-f", "1e39"], "use -d"),
    (["p", "-c", "ab"], "one character"),
    (["p", "-b", "BEE"], "-b"),
    (["p", "-i"], "needs a value"),
    (["p"], "nothing to send"),
    (["--hex", "p", "-i", "3"], "hex digits only"),
    (["a/b", "x"], "not a device name"),
    (["--raw", "--hex", "p", "x"], "oscar send --help"),
    (["p", "x", "--timeout", "0"], "--timeout"),
])
def test_usage_errors_say_what_is_wrong(argv, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse(argv)


def test_request_is_a_bundle_ending_with_the_receipt_ask():
    request = parse(["proj1", "%1POWR 1", "-i", "7"])
    packet = osc_send.build_request(request, "tok123")
    first, ask = osc_decode.decode_packet(packet)
    assert packet.startswith(b"#bundle\0")
    assert (first.address, first.args, first.due) == (
        "/device/proj1/message", (("s", "%1POWR 1"), ("i", 7)), None)
    assert (ask.address, ask.args) == ("/oscar/receipt", (("s", "tok123"),))


def test_only_our_receipt_is_taken():
    reply = receipts.encode_reply("tok", "refused", "unknown_device: unknown device 'x'")
    assert osc_send.parse_receipt(reply, "tok") == osc_send.Receipt(
        "refused", "unknown_device: unknown device 'x'")
    assert osc_send.parse_receipt(reply, "other") is None
    assert osc_send.parse_receipt(b"garbage", "tok") is None


def test_legacy_build_for_the_web_test_button():
    [message] = osc_decode.decode_packet(osc_send.build("proj1", ["a b"]))
    assert (message.address, message.args) == ("/device/proj1/message", (("s", "a b"),))


def test_describe_shows_types():
    assert osc_send.describe([("s", "SET"), ("i", 3), ("T", True), ("b", b"\x01")]) == \
        "'SET' i:3 T b:01"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["p", "x", "-i", "-f", "-s", "-T", "--tcp", "--port", "3",
                                 "--hex", "--raw", "--group", "--", "-b", "zz", "1.5", "-c",
                                 "--host", "--timeout", "70000", ""]), max_size=12))
def test_fuzz_only_usage_errors_escape(argv):
    try:
        parse(argv)
    except UsageError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_parse_receipt_never_raises(data):
    assert osc_send.parse_receipt(data, "tok") is None or data
