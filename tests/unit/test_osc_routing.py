import pytest
from hypothesis import strategies as st

from oscar.osc_decode import INFINITUM, OscError, OscMessage, decode_packet, encode_message
from oscar.osc_routing import Route, RouteError, command_bytes, render_float, route
from tests.unit.fuzzing import fuzz_pair
from tests.unit.osc_corpus import EXACT, HOSTILE, HOSTILE_COUNTER

# What QLab sends for the cue text `%1POWR 1` typed in quotes: address padded to 20 bytes,
# type tags ",s" padded to 4, the string and its terminating NUL padded to 12.
POWER_ON = b"/device/p1/message\x00\x00,s\x00\x00%1POWR 1\x00\x00\x00\x00"
# `/device/sw/message SET 3 0.1`: unquoted words and numbers arrive as string, int32, float32.
SET_IN = b"/device/sw/message\x00\x00,sif\x00\x00\x00\x00SET\x00\x00\x00\x00\x03=\xcc\xcc\xcd"


def render(*args, encoding="utf-8", verb="message"):
    """The bytes a device gets for one message with these (tag, value) arguments."""
    return command_bytes(route(OscMessage(f"/device/d/{verb}", tuple(args))), encoding)


def refusal(address, *args, encoding="utf-8"):
    with pytest.raises(RouteError) as caught:
        command_bytes(route(OscMessage(address, tuple(args))), encoding)
    return caught.value


# ---- route --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (POWER_ON, Route("device", "p1", "message", (("s", "%1POWR 1"),))),
        (SET_IN, Route("device", "sw", "message",
                       (("s", "SET"), ("i", 3), ("f", 0.10000000149011612)))),
    ],
)
def test_route_qlab_packets(packet, expected):
    [message] = decode_packet(packet)
    assert route(message) == expected


@pytest.mark.parametrize(
    ("address", "scope", "target", "verb"),
    [
        ("/device/p1/message", "device", "p1", "message"),
        ("/device/p1/raw", "device", "p1", "raw"),
        ("/device/p1/hex", "device", "p1", "hex"),
        ("/device/proj*/message", "device", "proj*", "message"),
        ("/device/{proj1,proj2}/raw", "device", "{proj1,proj2}", "raw"),
        ("/group/stage-left/message", "group", "stage-left", "message"),
        ("/group/stage-*/hex", "group", "stage-*", "hex"),
    ],
)
def test_route_addresses(address, scope, target, verb):
    args = (("s", "00"),)
    assert route(OscMessage(address, args)) == Route(scope, target, verb, args)


@pytest.mark.parametrize(
    ("address", "args", "counter", "device"),
    [
        ("/cue/1/start", [("s", "x")], "unknown_address", ""),
        ("/device/p1", [("s", "x")], "unknown_address", ""),
        ("/device//message", [("s", "x")], "unknown_address", ""),
        ("/device/p1/", [("s", "x")], "unknown_address", ""),
        ("/devices/p1/message", [("s", "x")], "unknown_address", ""),
        ("//device/p1/message", [("s", "x")], "unknown_address", ""),
        ("/group", [("s", "x")], "unknown_address", ""),
        ("/device/[p1/message", [("s", "x")], "bad_pattern", ""),
        ("/group/{a,b/message", [("s", "x")], "bad_pattern", ""),
        ("/device/" + "*" * 10_000 + "/message", [("s", "x")], "bad_pattern", ""),
        ("/device/p 1/message", [("s", "x")], "unknown_device", ""),
        ("/device/" + "n" * 65 + "/message", [("s", "x")], "unknown_device", ""),
        ("/device/p1/power", [("s", "x")], "unknown_verb", "p1"),
        ("/device/p1/message/extra", [("s", "x")], "unknown_verb", "p1"),
        ("/device/p1/Message", [("s", "x")], "unknown_verb", "p1"),
        ("/group/g/power", [("s", "x")], "unknown_verb", ""),
        ("/device/p1/message", [], "wrong_type", "p1"),
        ("/device/p1/raw", [], "wrong_type", "p1"),
        ("/device/p1/hex", [], "wrong_type", "p1"),
        ("/device/p1/hex", [("s", "00"), ("s", "01")], "wrong_type", "p1"),
        ("/device/p1/hex", [("i", 0)], "wrong_type", "p1"),
        ("/device/p1/hex", [("b", b"\x00")], "wrong_type", "p1"),
        ("/device/p1/message", [("t", 1)], "wrong_type", "p1"),
        ("/device/p1/message", [("r", 0)], "wrong_type", "p1"),
        ("/device/p1/message", [("m", b"\x00\x90\x3c\x64")], "wrong_type", "p1"),
        ("/device/p1/message", [("[", None), ("s", "x"), ("]", None)], "wrong_type", "p1"),
        ("/device/p1/raw", [("s", "x"), ("N", None)], "wrong_type", "p1"),
        ("/device/p1/message", [("I", INFINITUM)], "wrong_type", "p1"),
    ],
)
def test_route_refusals_carry_the_counter_and_device(address, args, counter, device):
    with pytest.raises(RouteError) as caught:
        route(OscMessage(address, tuple(args)))
    assert (caught.value.counter, caught.value.device) == (counter, device)
    assert len(str(caught.value)) < 300  # a 10 000-character address is not echoed back


@pytest.mark.parametrize(("tag", "value", "why"), [
    ("N", None, "nil (N) has no text"),
    ("I", INFINITUM, "infinitum (I) has no text"),
    ("t", 1, "timetag"),
])
def test_refusal_reason_is_clear(tag, value, why):
    assert why in str(refusal("/device/p1/message", ("s", "POWR"), (tag, value)))


# ---- rendering table ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "data"),
    [
        ([("s", "%1POWR 1")], b"%1POWR 1"),
        ([("S", "sym")], b"sym"),
        ([("s", "SET"), ("s", "IN"), ("i", 3)], b"SET IN 3"),
        ([("s", "PRE"), ("S", "sym"), ("s", "POST")], b"PRE sym POST"),
        ([("c", "A"), ("i", 5)], b"A 5"),
        ([("c", "\\")], b"\\"),  # a character is itself, never an escape
        ([("i", -7)], b"-7"),
        ([("i", 2**31 - 1)], b"2147483647"),
        ([("h", -(2**63))], b"-9223372036854775808"),
        ([("f", 0.10000000149011612)], b"0.1"),  # float32 0.1: shortest text that round-trips
        ([("f", 100.0)], b"100.0"),
        ([("f", -2.25)], b"-2.25"),
        ([("f", 1234567.0)], b"1234567.0"),
        ([("f", 0.3333333432674408)], b"0.33333334"),
        ([("f", 3.4028234663852886e38)], b"3.4028235e+38"),  # float32 max (was OverflowError)
        ([("f", -3.4028234663852886e38)], b"-3.4028235e+38"),
        ([("f", 1.401298464324817e-45)], b"1e-45"),  # smallest float32 subnormal
        ([("f", 1.1754942106924411e-38)], b"1.1754942e-38"),  # largest float32 subnormal
        ([("f", 1.5e-05)], b"0.000015"),
        ([("f", 0.0)], b"0.0"),
        ([("f", -0.0)], b"-0.0"),
        ([("d", 1 / 3)], b"0.3333333333333333"),  # a double keeps its own precision
        ([("d", 0.1)], b"0.1"),
        ([("d", 1e300)], b"1e+300"),
        ([("d", 5e-324)], b"5e-324"),
        ([("T", True), ("F", False)], b"true false"),
        ([("b", b"\x80\xff\x00\\r")], b"\x80\xff\x00\\r"),  # exact: no escapes, no encoding
        ([("s", "GAIN"), ("b", b"\xfe")], b"GAIN \xfe"),
        ([("s", "a b"), ("s", ""), ("s", "c")], b"a b  c"),  # joined as given, single spaces
        ([("s", "%1POWR 1\\r")], b"%1POWR 1\r"),
        ([("s", "a\\"), ("s", "rb")], None),  # escapes are decoded per argument: refused
    ],
)
def test_rendering_table(args, data):
    if data is None:
        with pytest.raises(RouteError):
            render(*args)
    else:
        assert render(*args) == (data, True)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("tag", ["f", "d"])
def test_non_finite_numbers_are_refused(tag, value):
    with pytest.raises(RouteError) as caught:
        render(("s", "GAIN"), (tag, value))
    assert caught.value.counter == "wrong_type"
    assert caught.value.device == "d"


def test_verbs_decide_the_terminator():
    assert render(("s", "TAKE 1\\r"), verb="message") == (b"TAKE 1\r", True)
    assert render(("s", "TAKE 1\\r"), verb="raw") == (b"TAKE 1\r", False)
    assert render(("s", "BE EF"), verb="hex") == (b"\xbe\xef", False)
    assert render(("S", "0xBE,0xEF"), verb="hex") == (b"\xbe\xef", False)


def test_hex_text_is_not_escape_decoded_or_encoded():
    assert render(("s", "C0 DB 00 FF"), verb="hex", encoding="ascii") == (
        b"\xc0\xdb\x00\xff", False)


@pytest.mark.parametrize(
    ("args", "encoding", "data"),
    [
        ([("s", "caf\u00e9")], "utf-8", b"caf\xc3\xa9"),
        ([("s", "caf\u00e9")], "latin-1", b"caf\xe9"),
        ([("s", "caf\u00e9\\xe9")], "latin-1", b"caf\xe9\xe9"),
        ([("c", "\u00e9")], "latin-1", b"\xe9"),
        ([("b", b"\xc3\xa9")], "ascii", b"\xc3\xa9"),  # blobs ignore the encoding
        ([("s", "\\x02PON\\x03")], "ascii", b"\x02PON\x03"),
    ],
)
def test_encoding(args, encoding, data):
    assert render(*args, encoding=encoding) == (data, True)


@pytest.mark.parametrize(
    ("args", "encoding", "counter"),
    [
        ([("s", "POWR\\q")], "utf-8", "bad_escape"),
        ([("s", "POWR 1\\")], "utf-8", "bad_escape"),
        ([("s", "\\xZZ")], "utf-8", "bad_escape"),
        ([("s", "caf\u00e9")], "ascii", "bad_encoding"),
        ([("c", "\u2603")], "latin-1", "bad_encoding"),
        ([("s", "\u2603")], "latin-1", "bad_encoding"),
        ([("s", "a" * 100)], "idna", "bad_encoding"),  # UnicodeError, not UnicodeEncodeError
        ([("s", "x")], "no-such-encoding", "bad_encoding"),
        ([("s", "x")], "hex", "bad_encoding"),  # a bytes codec, not a text encoding
        ([("i", 5)], "rot13", "bad_encoding"),
        ([("s", "x")], "utf\x008", "bad_encoding"),
        ([("s", "ok"), ("s", "caf\u00e9")], "ascii", "bad_encoding"),  # whole cue refused
    ],
)
def test_command_bytes_refusals(args, encoding, counter):
    with pytest.raises(RouteError) as caught:
        render(*args, encoding=encoding)
    assert (caught.value.counter, caught.value.device) == (counter, "d")


@pytest.mark.parametrize(("text", "position"), [("BE E F", 4), ("BEEG", 4), ("", None)])
def test_hex_refusals(text, position):
    error = refusal("/device/d/hex", ("s", text))
    assert error.counter == "bad_hex"
    if position:
        assert f"position {position}" in str(error)


def test_group_refusals_name_no_device():
    assert refusal("/group/g/message", ("s", "\\q")).device == ""


def test_render_float_never_raises_anything_but_route_error():
    for value in (3.4028234663852886e38, 3.5e38, 1e308, 5e-324, -0.0):
        assert render_float(value) and render_float(value, single=False)


# ---- the regression corpus, end to end (decode -> route -> command_bytes) -----------------------

def outcome(packet, encoding="utf-8"):
    """What the listener would do: every message's bytes, or the counter it refuses under."""
    try:
        return [command_bytes(route(m), encoding) for m in decode_packet(packet)]
    except OscError:
        return "malformed"
    except RouteError as exc:
        return exc.counter


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_corpus_is_refused_under_its_counter(name):
    assert outcome(HOSTILE[name]) == HOSTILE_COUNTER[name]


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_corpus_renders_exact_bytes(name):
    packet, data, terminate = EXACT[name]
    assert outcome(packet) == [(data, terminate)]


# ---- fuzzing: decoded random messages never raise anything but RouteError -----------------------

TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               max_size=10)
ARG = st.one_of(
    st.tuples(st.just("i"), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just("h"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("f"), st.floats(width=32)),
    st.tuples(st.just("d"), st.floats()),
    st.tuples(st.sampled_from("sS"), TEXT | st.sampled_from(["\\", "\\r", "\\x4", "\\xzz",
                                                             "\\q", "BE EF", "0x00"])),
    st.tuples(st.just("c"), st.characters(blacklist_categories=("Cs",))),
    st.tuples(st.just("b"), st.binary(max_size=8)),
    st.tuples(st.just("t"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("r"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("m"), st.binary(min_size=4, max_size=4)),
    st.sampled_from([("T", True), ("F", False), ("N", None), ("I", INFINITUM), ("[", None),
                     ("]", None)]),
)
ADDRESS = st.one_of(
    st.builds(lambda scope, target, verb: f"/{scope}/{target}/{verb}",
              st.sampled_from(["device", "group", "dev", ""]),
              st.text(st.sampled_from("ab1*?[]{},!-/ "), max_size=12),
              st.sampled_from(["message", "raw", "hex", "x", "message/x"])),
    st.builds(lambda text: "/" + text, TEXT),
)
ENCODING = st.sampled_from(["utf-8", "ascii", "latin-1", "cp1252", "utf-16", "idna", "hex",
                            "rot13", "punycode", "undefined", "nope", ""])


def check_route_and_render(address, args, encoding):
    balanced = [arg for arg in args if arg[0] not in "[]"]  # the decoder refuses unbalanced
    [message] = decode_packet(encode_message(address, balanced))
    try:
        data, terminate = command_bytes(route(message), encoding)
    except RouteError as exc:
        assert exc.counter in {"unknown_address", "unknown_device", "bad_pattern",
                               "unknown_verb", "wrong_type", "bad_escape", "bad_encoding",
                               "bad_hex"}
        assert len(str(exc)) < 400
        return
    assert isinstance(data, bytes) and isinstance(terminate, bool)


test_fuzz_route_and_render, test_fuzz_route_and_render_long = fuzz_pair(
    ADDRESS, st.lists(ARG, max_size=5), ENCODING)(check_route_and_render)


def test_every_counter_the_codec_uses_is_a_listener_counter():
    from oscar.forwarder import COUNTERS

    used = set(HOSTILE_COUNTER.values()) | {"bad_encoding"}
    assert used <= set(COUNTERS)


@pytest.mark.parametrize("args", [(("s", 5),), (("i", "x"), ("s", "a")), (("b", "text"),),
                                  (("c", 7),), (("f", "1.5"),)])
def test_hand_built_route_with_mismatched_values_is_refused(args):
    with pytest.raises(RouteError) as caught:
        command_bytes(Route("device", "d", "message", args), "utf-8")
    assert caught.value.counter == "wrong_type"


def test_bad_encoding_names_the_character():
    error = refusal("/device/d/message", ("s", "caf\u00e9 ok"), encoding="ascii")
    assert str(error) == "cannot encode as 'ascii': '\u00e9' (ordinal not in range(128))"


# ---- the examples in docs/osc.md, as QLab sends them --------------------------------------------

@pytest.mark.parametrize(
    ("address", "args", "data", "terminate"),
    [
        # QLab how-to: a quoted text is one string argument.
        ("/device/proj1/message", ["%1POWR 1"], b"%1POWR 1", True),
        ("/device/matrix/raw", ["#VID 1>2\\r"], b"#VID 1>2\r", False),
        ("/device/matrix/message", ["#VID 1>2"], b"#VID 1>2", True),
        ("/device/dimmer/hex", ["02 50 4F 4E 03"], b"\x02PON\x03", False),
        ("/device/proj*/message", ["%1POWR 0"], b"%1POWR 0", True),
        ("/device/{proj1,proj2}/message", ["%1INPT 31"], b"%1INPT 31", True),
        ("/group/stage-left/message", ["%1AVMT 31"], b"%1AVMT 31", True),
        # Unquoted: `%1POWR 1` arrives as a string and an int, and renders the same.
        ("/device/proj1/message", ["%1POWR", 1], b"%1POWR 1", True),
        # `007` unquoted arrives as the int 7; `1.50` as the float32 1.5.
        ("/device/sw/message", ["SET", 7, 1.5], b"SET 7 1.5", True),
        ("/device/sw/message", ["SET", "007", "1.50"], b"SET 007 1.50", True),
        # #blobAlBPTgM= is a blob of 02 50 4F 4E 03.
        ("/device/matrix/raw", [b"\x02PON\x03"], b"\x02PON\x03", False),
        # The rendering examples.
        ("/device/sw/message", ["SET IN 3"], b"SET IN 3", True),
        ("/device/sw/message", ["SET", "IN", 3], b"SET IN 3", True),
        ("/device/sw/message", ["SET", 3, 0.1], b"SET 3 0.1", True),
        ("/device/sw/message", ["PRE", ("S", "sym"), "POST"], b"PRE sym POST", True),
        ("/device/sw/message", ["MUTE", True, False], b"MUTE true false", True),
        ("/device/sw/raw", ["TAKE\\r"], b"TAKE\r", False),
        ("/device/sw/message", ["GAIN", b"\xfe"], b"GAIN \xfe", True),
    ],
)
def test_documented_examples(address, args, data, terminate):
    [message] = decode_packet(encode_message(address, args))
    assert command_bytes(route(message), "utf-8") == (data, terminate)


def test_documented_refusal_example():
    [message] = decode_packet(encode_message("/device/sw/message", ["POWR", None]))
    with pytest.raises(RouteError) as caught:
        route(message)
    assert caught.value.counter == "wrong_type"
