import struct

import pytest
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder

from oscar import osc_decode
from oscar.osc_decode import (
    INFINITUM,
    MAX_DEPTH,
    OscError,
    OscMessage,
    decode_packet,
    encode_bundle,
    encode_message,
    ntp_to_unix,
    unix_to_ntp,
)
from tests.unit.fuzzing import fuzz_pair
from tests.unit.osc_corpus import (
    EXACT,
    HOSTILE,
    HOSTILE_COUNTER,
    IMMEDIATELY,
    bundle,
    i32,
    msg,
    pad,
)
from tests.unit.osc_corpus import nested as nest

A = "/device/x/message"
A_BYTES = b"/device/x/message\x00\x00\x00"  # 17 characters + 3 NUL: padded to 20


def args_of(packet: bytes) -> tuple:
    [message] = decode_packet(packet)
    assert message.address == A
    return message.args


# ---- every type tag, byte-exact -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("tags", "data", "args"),
    [
        (b",i\x00\x00", b"\xff\xff\xff\xfe", (("i", -2),)),
        (b",i\x00\x00", b"\x7f\xff\xff\xff", (("i", 2**31 - 1),)),
        (b",h\x00\x00", b"\x80\x00\x00\x00\x00\x00\x00\x00", (("h", -(2**63)),)),
        (b",f\x00\x00", b"B\xc8\x00\x00", (("f", 100.0),)),
        (b",f\x00\x00", b"\x7f\x7f\xff\xff", (("f", 3.4028234663852886e38),)),
        (b",d\x00\x00", b"?\xf8\x00\x00\x00\x00\x00\x00", (("d", 1.5),)),
        (b",s\x00\x00", b"abc\x00", (("s", "abc"),)),  # 3 chars + NUL: exactly 4
        (b",s\x00\x00", b"abcd\x00\x00\x00\x00", (("s", "abcd"),)),  # 4 chars: 4 NULs
        (b",s\x00\x00", b"\x00\x00\x00\x00", (("s", ""),)),
        (b",s\x00\x00", b"caf\xc3\xa9\x00\x00\x00", (("s", "caf\u00e9"),)),
        (b",S\x00\x00", b"sym\x00", (("S", "sym"),)),
        (b",c\x00\x00", b"\x00\x00\x00A", (("c", "A"),)),
        (b",c\x00\x00", b"\x00\x01\xf3\xb5", (("c", "\U0001f3b5"),)),
        (b",b\x00\x00", b"\x00\x00\x00\x03\x80\xff\x00\x00", (("b", b"\x80\xff\x00"),)),
        (b",b\x00\x00", b"\x00\x00\x00\x04\x01\x02\x03\x04", (("b", b"\x01\x02\x03\x04"),)),
        (b",b\x00\x00", b"\x00\x00\x00\x00", (("b", b""),)),
        (b",t\x00\x00", b"\x00\x00\x00\x00\x00\x00\x00\x01", (("t", 1),)),
        (b",r\x00\x00", b"\xff\x00\x80\xff", (("r", 0xFF0080FF),)),
        (b",m\x00\x00", b"\x00\x90\x3c\x64", (("m", b"\x00\x90\x3c\x64"),)),
        (b",TF\x00", b"", (("T", True), ("F", False))),
        (b",N\x00\x00", b"", (("N", None),)),
        (b",I\x00\x00", b"", (("I", INFINITUM),)),
        (b",[i]\x00\x00\x00\x00", b"\x00\x00\x00\x07", (("[", None), ("i", 7), ("]", None))),
        (b",[[]]\x00\x00\x00", b"", (("[", None), ("[", None), ("]", None), ("]", None))),
        (b",\x00\x00\x00", b"", ()),
        (b",sSsciTFNIhdbtrm\x00\x00\x00\x00",
         b"PRE\x00sym\x00POST\x00\x00\x00\x00\x00\x00\x00A\x00\x00\x00\x05"
         b"\x00\x00\x00\x00\x00\x00\x00\x09?\xf0\x00\x00\x00\x00\x00\x00"
         b"\x00\x00\x00\x01z\x00\x00\x00" + b"\x00" * 7 + b"\x02" + b"\x01\x02\x03\x04"
         + b"\x05\x06\x07\x08",
         (("s", "PRE"), ("S", "sym"), ("s", "POST"), ("c", "A"), ("i", 5), ("T", True),
          ("F", False), ("N", None), ("I", INFINITUM), ("h", 9), ("d", 1.0), ("b", b"z"),
          ("t", 2), ("r", 0x01020304), ("m", b"\x05\x06\x07\x08"))),
    ],
)
def test_every_type_tag_decodes_with_its_exact_size(tags, data, args):
    assert args_of(A_BYTES + tags + data) == args


def test_infinitum_is_one_named_constant():
    assert repr(INFINITUM) == "INFINITUM"
    assert args_of(A_BYTES + b",I\x00\x00")[0][1] is INFINITUM


def test_message_without_type_tag_string_has_no_arguments():
    assert decode_packet(A_BYTES) == [OscMessage(A, ())]


def test_decoded_message_is_immutable_and_due_now():
    [message] = decode_packet(A_BYTES + b",s\x00\x00ok\x00\x00")
    assert message.due is None
    with pytest.raises(AttributeError):
        message.address = "/other"  # type: ignore[misc]


def test_bytearray_and_memoryview_input():
    packet = A_BYTES + b",i\x00\x00\x00\x00\x00\x05"
    assert decode_packet(bytearray(packet)) == decode_packet(memoryview(packet)) == [
        OscMessage(A, (("i", 5),))]


# ---- refusals -----------------------------------------------------------------------------------

MALFORMED = sorted(name for name, counter in HOSTILE_COUNTER.items() if counter == "malformed")


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_corpus_is_refused_whole(name):
    with pytest.raises(OscError):
        decode_packet(HOSTILE[name])


@pytest.mark.parametrize(
    ("packet", "why"),
    [
        (b"#bundle\x00" + IMMEDIATELY + b"\xff\xff\xff\xfc", "size -4"),
        (b"#bundle\x00" + IMMEDIATELY + b"\x00\x00\x00\x00", "size 0"),
        (b"#bundle\x00" + IMMEDIATELY + b"\x00\x00\x00\x05" + b"\x00" * 8, "size 5"),
        (b"#bundle\x00" + IMMEDIATELY + b"\x00\x00\x00\x08/a\x00\x00", "past the end"),
        (b"#bundle\x00\x00\x00\x00", "timetag"),
        (A_BYTES + b",x\x00\x00\x00\x00\x00\x05", "unknown type tag 'x'"),
        (A_BYTES + b",i\x00\x00\x00\x01", "truncated"),
        (A_BYTES + b",ss\x00abc\x00", "missing"),
        (A_BYTES + b",s\x00\x00abcd", "no terminating NUL"),
        (A_BYTES + b",s\x00\x00ab\x00x", "padding"),
        (A_BYTES + b",s\x00\x00abcd\x00", "lacks its padding"),
        (A_BYTES + b",s\x00\x00\xff\xfe\x00\x00", "not valid UTF-8"),
        (A_BYTES + b",b\x00\x00\xff\xff\xff\xff", "negative size"),
        (A_BYTES + b",b\x00\x00\x00\x00\x01\x00abcd", "runs past the end"),
        (A_BYTES + b",s\x00\x00ok\x00\x00junk", "4 bytes after the last argument"),
        (A_BYTES + b"s\x00\x00\x00ok\x00\x00", "',' type tag string"),
        (A_BYTES + b",[\x00\x00", "'[' without a matching ']'"),
        (A_BYTES + b",]\x00\x00", "']' without a matching '['"),
        (A_BYTES + b",c\x00\x00\x00\x00\xdc\x00", "not a character"),
        (b"/a\xff\x00,\x00\x00\x00", "address at byte 0 is not valid UTF-8"),
        (b"hello\x00\x00\x00", "neither a message"),
        (b"", "empty"),
        (nest(MAX_DEPTH + 1, A_BYTES + b",s\x00\x00ok\x00\x00"), "nested deeper than 8"),
    ],
)
def test_refusal_says_why(packet, why):
    with pytest.raises(OscError, match=why.replace("[", r"\[").replace("]", r"\]")):
        decode_packet(packet)


def test_refusal_message_never_dumps_the_payload():
    packet = msg("/device/" + "n" * 60_000 + "/message", ",sx", pad(b"secret" * 1000), i32(1))
    with pytest.raises(OscError) as caught:
        decode_packet(packet)
    assert len(str(caught.value)) < 200
    assert "secret" not in str(caught.value)


def test_one_bad_element_refuses_the_whole_bundle():
    good = A_BYTES + b",s\x00\x00ok\x00\x00"
    with pytest.raises(OscError):
        decode_packet(bundle(IMMEDIATELY, good, good, A_BYTES + b",i\x00\x00\x00"))


# ---- bundles and timetags -----------------------------------------------------------------------

GOOD = A_BYTES + b",s\x00\x00ok\x00\x00"


def ntp(seconds: int, fraction: int = 0) -> bytes:
    return struct.pack(">II", seconds, fraction)


def test_bundle_elements_are_flattened_in_order():
    first = msg("/device/a/message", ",s", pad(b"1"))
    second = msg("/device/b/message", ",s", pad(b"2"))
    third = msg("/device/c/message", ",s", pad(b"3"))
    packet = bundle(IMMEDIATELY, first, bundle(IMMEDIATELY, second), third)
    assert [(m.address, m.args, m.due) for m in decode_packet(packet)] == [
        ("/device/a/message", (("s", "1"),), None),
        ("/device/b/message", (("s", "2"),), None),
        ("/device/c/message", (("s", "3"),), None),
    ]


def test_empty_bundle_is_no_messages():
    assert decode_packet(bundle(IMMEDIATELY)) == []


def test_bundle_nested_eight_deep_is_accepted():
    assert decode_packet(nest(MAX_DEPTH, GOOD)) == [OscMessage(A, (("s", "ok"),))]


def test_timetag_becomes_unix_due_time():
    # 2026-11-26 00:00:00 UTC = unix 1795651200 = NTP 4004640000; fraction 2**31 = half a second
    [message] = decode_packet(bundle(ntp(4_004_640_000, 2**31), GOOD))
    assert message.due == 1_795_651_200.5


@pytest.mark.parametrize(
    ("outer", "inner", "due"),
    [
        (IMMEDIATELY, ntp(2_208_988_800 + 100), 100.0),  # immediately counts as earliest
        (ntp(2_208_988_800 + 100), IMMEDIATELY, 100.0),  # inner "now" is the outer time
        (ntp(2_208_988_800 + 100), ntp(2_208_988_800 + 50), 100.0),  # never before the outer
        (ntp(2_208_988_800 + 50), ntp(2_208_988_800 + 100), 100.0),  # the later of the two
        (IMMEDIATELY, IMMEDIATELY, None),
    ],
)
def test_nested_bundle_due_is_the_later_time(outer, inner, due):
    [message] = decode_packet(bundle(outer, bundle(inner, GOOD)))
    assert message.due == due


def test_ntp_conversions():
    assert ntp_to_unix(1) is None
    assert ntp_to_unix(2_208_988_800 << 32) == 0.0
    assert ntp_to_unix(0) == -2_208_988_800.0  # 1900: in the past, sent at once
    assert unix_to_ntp(0.0) == 2_208_988_800 << 32
    assert unix_to_ntp(1.25) == ((2_208_988_800 + 1) << 32) | 2**30
    for t in (1_795_651_200.123456, 0.5, 2_000_000_000.999):
        assert abs(ntp_to_unix(unix_to_ntp(t)) - t) < 1e-6
    with pytest.raises(ValueError):
        unix_to_ntp(-3e9)


# ---- encoder ------------------------------------------------------------------------------------

def test_encoder_matches_python_osc_byte_for_byte():
    values = ["%1POWR 1", 3, 0.1, b"\x01\x02\x03", True, False, None, 1.5]
    builder = OscMessageBuilder(A)
    for value in values:
        builder.add_arg(value)
    assert encode_message(A, values) == builder.build().dgram


def test_encoder_writes_every_tag():
    args = (("s", "PRE"), ("S", "sym"), ("c", "A"), ("i", -1), ("h", 2**40), ("f", 0.5),
            ("d", 0.1), ("T", True), ("F", False), ("N", None), ("I", INFINITUM),
            ("b", b"\x80"), ("t", 1), ("r", 7), ("m", b"\x00\x90\x3c\x64"), ("[", None),
            ("]", None))
    packet = encode_message(A, args)
    assert packet.startswith(A_BYTES + b",sScihfdTFNIbtrm[]\x00\x00")
    assert len(packet) % 4 == 0
    assert args_of(packet) == args


def test_encoder_infers_tags_from_plain_values():
    assert args_of(encode_message(A, ["a", 1, 2**40, 0.5, b"z", True, False, None, INFINITUM])) \
        == (("s", "a"), ("i", 1), ("h", 2**40), ("f", 0.5), ("b", b"z"), ("T", True),
            ("F", False), ("N", None), ("I", INFINITUM))


@pytest.mark.parametrize("args", [[("c", "AB")], [("m", b"abc")], [("q", 1)], ["a\x00b"],
                                  [object()], [("i", 2**31)]])
def test_encoder_refuses_what_it_cannot_write(args):
    with pytest.raises((ValueError, struct.error)):
        encode_message(A, args)


def test_encode_bundle():
    assert encode_bundle(None, [GOOD]) == bundle(IMMEDIATELY, GOOD)
    assert encode_bundle(unix_to_ntp(100.0), [GOOD]) == bundle(ntp(2_208_988_800 + 100), GOOD)
    assert decode_packet(encode_bundle(unix_to_ntp(100.0), [GOOD]))[0].due == 100.0


# ---- corpus: the exact-bytes packets decode -----------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_corpus_decodes(name):
    packet, _, _ = EXACT[name]
    assert len(decode_packet(packet)) == 1


# ---- fuzzing ------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=12)
ARG = st.one_of(
    st.tuples(st.just("i"), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just("h"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("f"), st.floats(width=32, allow_nan=False)),
    st.tuples(st.just("d"), st.floats(allow_nan=False)),
    st.tuples(st.sampled_from("sS"), TEXT),
    st.tuples(st.just("c"), st.characters(blacklist_categories=("Cs",))),
    st.tuples(st.just("b"), st.binary(max_size=12)),
    st.tuples(st.just("t"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("r"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("m"), st.binary(min_size=4, max_size=4)),
    st.sampled_from([("T", True), ("F", False), ("N", None), ("I", INFINITUM)]),
)
ADDRESS = st.builds(lambda text: "/" + text, TEXT)


@st.composite
def arg_lists(draw):
    args = draw(st.lists(ARG, max_size=8))
    if args and draw(st.booleans()):  # wrap a slice in a (possibly nested) array
        start = draw(st.integers(0, len(args)))
        stop = draw(st.integers(start, len(args)))
        args = args[:start] + [("[", None)] + args[start:stop] + [("]", None)] + args[stop:]
    return args


@st.composite
def packets(draw, depth=0):
    if depth < 3 and draw(st.integers(0, 3)) == 0:
        timetag = draw(st.one_of(st.just(1), st.integers(0, 2**64 - 1)))
        return encode_bundle(timetag, draw(st.lists(packets(depth + 1), max_size=3)))
    return encode_message(draw(ADDRESS), draw(arg_lists()))


@st.composite
def mutated(draw):
    packet = bytearray(draw(packets()))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "size"]))
        at = draw(st.integers(0, max(len(packet) - 1, 0)))
        if kind == "flip" and packet:
            packet[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del packet[at:]
        elif kind == "insert":
            packet[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del packet[at:at + draw(st.integers(1, 8))]
        elif kind == "size" and len(packet) >= at + 4:  # a hostile int32 where a size may be
            packet[at:at + 4] = draw(st.sampled_from(
                [b"\xff\xff\xff\xfc", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff",
                 b"\x80\x00\x00\x00", b"\x00\x00\x00\x05"]))
    return bytes(packet)


def decodes_or_refuses(packet):
    """The whole contract of decode_packet on any input: messages, or OscError."""
    try:
        messages = decode_packet(packet)
    except OscError as exc:
        assert len(str(exc)) < 200
        assert not str(exc).startswith("internal decoder error")  # a bug, not a refusal
        return None
    for message in messages:
        assert isinstance(message, OscMessage)
        assert message.address.startswith("/")
    return messages


def check_random_bytes(data):
    decodes_or_refuses(data)


def check_round_trip(address, args):
    [message] = decode_packet(encode_message(address, args))
    assert message == OscMessage(address, tuple(args))


def check_bundles_round_trip(packet):
    assert decodes_or_refuses(packet) is not None


def check_mutated(packet):
    decodes_or_refuses(packet)


def check_hostile_prefix_suffix(prefix, data):
    decodes_or_refuses(prefix + data)


test_fuzz_random_bytes, test_fuzz_random_bytes_long = fuzz_pair(st.binary(max_size=512))(
    check_random_bytes)
test_fuzz_round_trip, test_fuzz_round_trip_long = fuzz_pair(ADDRESS, arg_lists())(
    check_round_trip)
test_fuzz_valid_bundles, test_fuzz_valid_bundles_long = fuzz_pair(packets())(
    check_bundles_round_trip)
test_fuzz_mutated, test_fuzz_mutated_long = fuzz_pair(mutated())(check_mutated)
test_fuzz_structured_garbage, test_fuzz_structured_garbage_long = fuzz_pair(
    st.sampled_from([b"#bundle\x00", A_BYTES, A_BYTES + b",sbi\x00\x00\x00\x00",
                     b"#bundle\x00" + IMMEDIATELY]),
    st.binary(max_size=256))(check_hostile_prefix_suffix)


# ---- the one-string fast path gives exactly the general decoder's answers -----------------------

def general(packet):
    """The general decoder alone, without decode_packet's fast path for `,s` messages."""
    out = []
    osc_decode._decode_element(packet, 0, len(packet), None, 1, out)
    return out


def same_answer(packet):
    try:
        expected = general(packet)
    except OscError:
        with pytest.raises(OscError):
            decode_packet(packet)
        return
    assert decode_packet(packet) == expected


@pytest.mark.parametrize(
    "packet",
    [
        b"/abc\x00\x00\x00\x00,s\x00\x00ok\x00\x00",  # address of 4: four NULs
        b"/abc\x00\x00\x00,s\x00\x00ok\x00\x00",  # one NUL short
        b"/abc\x00\x00\x00\x00\x00,s\x00\x00ok\x00\x00",  # one NUL too many
        b"/ab\x00,s\x00\x00abcd\x00\x00\x00",  # string padding short
        b"/ab\x00,s\x00\x00abc\x00\x00\x00\x00\x00",  # string padding long
        b"/ab\x00,s\x00\x00\x00\x00\x00\x00",  # empty string
        b"/ab\x00,s\x00\x00\xff\x00\x00\x00",  # string not UTF-8
        b"/\xff\x00\x00,s\x00\x00ok\x00\x00",  # address not UTF-8
        b"/ab\x00,s\x00\x00ok\x00\x00\x00\x00\x00\x00",  # trailing NULs
        b"/ab\x00,s\x00\x00",  # string missing
        b"/ab\x00,s\x00\x00ok\x00\x00/ab\x00",  # trailing bytes
    ],
)
def test_fast_path_edges_match_general_decoder(packet):
    same_answer(packet)


@st.composite
def one_string_packets(draw):
    packet = bytearray(encode_message(draw(ADDRESS), [("s", draw(TEXT))]))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(packet)))
        kind = draw(st.sampled_from(["nul", "drop", "byte", "cut"]))
        if kind == "nul":
            packet[at:at] = b"\x00"
        elif kind == "drop":
            del packet[at:at + 1]
        elif kind == "byte" and at < len(packet):
            packet[at] = draw(st.sampled_from([0, 0x2C, 0x73, 0x2F, 0xFF, 0xC3, 0x41]))
        elif kind == "cut":
            del packet[at:]
    return bytes(packet)


test_fuzz_fast_path, test_fuzz_fast_path_long = fuzz_pair(one_string_packets())(same_answer)
