import re

import pytest
from hypothesis import strategies as st

from oscar.framing import (
    MAX_PACKET,
    FramingError,
    LengthPrefixDecoder,
    SlipDecoder,
    StreamDecoder,
    length_prefix_encode,
    slip_encode,
)
from oscar.osc_decode import OscError, decode_packet
from tests.unit.fuzzing import fuzz_pair
from tests.unit.osc_corpus import EXACT, HOSTILE

OSC = b"/device/p1/message\x00\x00,s\x00\x00%1POWR 1\x00\x00\x00\x00"
# A payload holding both SLIP specials, and its double-END encoding.
SPECIALS = b"a\xc0b\xdbc"
SPECIALS_SLIP = b"\xc0a\xdb\xdcb\xdb\xddc\xc0"


def describe(results):
    """Packets as bytes, errors as their message: comparable with ==."""
    return [str(r) if isinstance(r, FramingError) else r for r in results]


def feed_in_pieces(decoder, stream, cuts):
    results = []
    start = 0
    for cut in [*cuts, len(stream)]:
        results += decoder.feed(stream[start:cut])
        start = cut
    return describe(results)


# ---- SLIP ---------------------------------------------------------------------------------------

def test_slip_encode_escapes_end_and_esc_between_two_ends():
    assert slip_encode(SPECIALS) == SPECIALS_SLIP
    assert slip_encode(b"\xdb\xc0") == b"\xc0\xdb\xdd\xdb\xdc\xc0"


@pytest.mark.parametrize(
    ("stream", "packets"),
    [
        (b"\xc0" + OSC + b"\xc0", [OSC]),
        (SPECIALS_SLIP, [SPECIALS]),
        (b"\xc0one\xc0\xc0two\xc0", [b"one", b"two"]),
        (b"\xc0one\xc0two\xc0", [b"one", b"two"]),  # single END between frames
        (b"no-leading-end\xc0", [b"no-leading-end"]),
        (b"\xc0\xc0\xc0\xc0", []),  # empty frames are ignored
        (b"\xc0unfinished", []),  # waits for its END
    ],
)
def test_slip_decode(stream, packets):
    assert SlipDecoder().feed(stream) == packets


def test_slip_round_trip_of_every_byte_value():
    payload = bytes(range(256)) * 3
    assert SlipDecoder().feed(slip_encode(payload)) == [payload]


STREAM = slip_encode(OSC) + slip_encode(SPECIALS) + b"\xc0bad\xdb\x01x\xc0" + slip_encode(b"ok")
STREAM_RESULT = [OSC, SPECIALS, "bad SLIP escape 0xDB 0x01", b"ok"]


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_slip_frames_split_at_any_byte_decode_the_same(cut):
    assert feed_in_pieces(SlipDecoder(), STREAM, [cut]) == STREAM_RESULT


def test_slip_stream_fed_one_byte_at_a_time():
    assert feed_in_pieces(SlipDecoder(), STREAM, range(1, len(STREAM))) == STREAM_RESULT


@pytest.mark.parametrize(
    ("bad_frame", "error"),
    [
        (b"\xc0ab\xdb\x01cd\xc0", "bad SLIP escape 0xDB 0x01"),
        (b"\xc0ab\xdb\xdb\xdccd\xc0", "bad SLIP escape 0xDB 0xDB"),
        (b"\xc0ab\xdb\xc0", "SLIP frame ends in the middle of an escape"),
    ],
)
def test_slip_bad_escape_skips_only_the_bad_frame_and_reports_it_once(bad_frame, error):
    stream = slip_encode(b"before") + bad_frame + slip_encode(b"after")
    assert describe(SlipDecoder().feed(stream)) == [b"before", error, b"after"]


def test_slip_frame_of_exactly_max_packet_is_delivered():
    payload = b"x" * MAX_PACKET
    assert SlipDecoder().feed(slip_encode(payload)) == [payload]


def test_slip_oversize_frame_is_reported_once_and_the_next_frame_still_arrives():
    stream = slip_encode(b"x" * (MAX_PACKET + 1)) + slip_encode(OSC)
    assert describe(SlipDecoder().feed(stream)) == [
        f"SLIP frame longer than {MAX_PACKET} bytes", OSC,
    ]


def test_slip_oversize_frame_fed_in_chunks_is_reported_once():
    decoder = SlipDecoder()
    results = decoder.feed(b"\xc0")
    for _ in range(3):
        results += decoder.feed(b"x" * MAX_PACKET)
    results += decoder.feed(b"\xc0" + slip_encode(b"ok"))
    assert describe(results) == [f"SLIP frame longer than {MAX_PACKET} bytes", b"ok"]


# ---- length prefix ------------------------------------------------------------------------------

LP_STREAM = b"\x00\x00\x00\x03abc" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x02hi"


def test_length_prefix_encode_is_big_endian_32_bit():
    assert length_prefix_encode(b"abc") == b"\x00\x00\x00\x03abc"
    assert length_prefix_encode(OSC) == b"\x00\x00\x00\x24" + OSC


def test_length_prefix_decode_skips_empty_packets():
    assert LengthPrefixDecoder().feed(LP_STREAM) == [b"abc", b"hi"]


@pytest.mark.parametrize("cut", range(1, len(LP_STREAM)))
def test_length_prefix_split_at_any_byte_decodes_the_same(cut):
    assert feed_in_pieces(LengthPrefixDecoder(), LP_STREAM, [cut]) == [b"abc", b"hi"]


def test_length_prefix_fed_one_byte_at_a_time():
    assert feed_in_pieces(LengthPrefixDecoder(), LP_STREAM, range(1, len(LP_STREAM))) == [
        b"abc", b"hi",
    ]


def test_length_prefix_over_max_packet_raises():
    decoder = LengthPrefixDecoder()
    assert decoder.feed(length_prefix_encode(b"ok")) == [b"ok"]
    with pytest.raises(FramingError, match=f"length prefix {MAX_PACKET + 1} exceeds"):
        decoder.feed((MAX_PACKET + 1).to_bytes(4, "big"))


def test_length_prefix_of_exactly_max_packet_waits_for_its_data():
    decoder = LengthPrefixDecoder()
    assert decoder.feed(MAX_PACKET.to_bytes(4, "big") + b"x" * 10) == []
    assert decoder.feed(b"x" * (MAX_PACKET - 10)) == [b"x" * MAX_PACKET]


# ---- picking the framing ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("stream", "mode"),
    [
        (slip_encode(OSC), "slip"),
        (length_prefix_encode(OSC), "length-prefix"),
        (OSC + b"\xc0", "slip"),  # SLIP without a leading END starts with '/'
    ],
)
def test_stream_decoder_picks_framing_by_first_byte(stream, mode):
    decoder = StreamDecoder()
    assert decoder.feed(stream) == [OSC]
    assert decoder.mode == mode


def test_stream_decoder_waits_for_a_byte_before_choosing():
    decoder = StreamDecoder()
    assert decoder.feed(b"") == []
    assert decoder.mode == ""
    assert decoder.feed(length_prefix_encode(b"hi")) == [b"hi"]
    assert decoder.mode == "length-prefix"


def test_stream_decoder_keeps_its_first_choice():
    decoder = StreamDecoder()
    decoder.feed(b"\xc0")
    # Later bytes starting with 0x00 are SLIP payload, not a length prefix.
    assert decoder.feed(b"\x00\x00\x00\x02hi\xc0") == [b"\x00\x00\x00\x02hi"]
    assert decoder.mode == "slip"


def test_length_prefix_stays_broken_and_buffers_nothing_after_a_bad_prefix():
    decoder = LengthPrefixDecoder()
    with pytest.raises(FramingError):
        decoder.feed(b"\xff\xff\xff\xff" + b"x" * 1000)
    for _ in range(3):  # a caller that carries on anyway cannot make it grow
        with pytest.raises(FramingError, match="length prefix 4294967295 exceeds"):
            decoder.feed(b"y" * 100_000)
        assert decoder.buffered == 0


# ---- the OSC regression corpus carried by both framings -----------------------------------------

CORPUS = [HOSTILE[name] for name in sorted(HOSTILE) if HOSTILE[name]] + [
    EXACT[name][0] for name in sorted(EXACT)]


@pytest.mark.parametrize("encode", [slip_encode, length_prefix_encode])
def test_corpus_packets_cross_each_framing_byte_exact(encode):
    stream = b"".join(encode(packet) for packet in CORPUS)
    decoder = StreamDecoder()
    assert feed_in_pieces(decoder, stream, range(7, len(stream), 7)) == CORPUS
    assert decoder.buffered == 0


@pytest.mark.parametrize("encode", [slip_encode, length_prefix_encode])
def test_framed_corpus_decodes_like_datagrams(encode):
    for packet in CORPUS:
        [frame] = StreamDecoder().feed(encode(packet))
        try:
            expected = decode_packet(packet)
        except OscError as exc:
            with pytest.raises(OscError, match=re.escape(str(exc))):
                decode_packet(frame)
        else:
            assert decode_packet(frame) == expected


# ---- fuzzing: only FramingError escapes, buffers stay bounded -----------------------------------

def run_decoder(decoder, chunks):
    packets = []
    for chunk in chunks:
        try:
            results = decoder.feed(chunk)
        except FramingError:
            assert isinstance(decoder, LengthPrefixDecoder | StreamDecoder)
            assert decoder.buffered == 0
            return packets
        for result in results:
            assert isinstance(result, bytes | FramingError)
            if isinstance(result, bytes):
                assert 0 < len(result) <= MAX_PACKET
                packets.append(result)
        assert decoder.buffered <= 4 + MAX_PACKET
    return packets


CHUNKS = st.lists(st.binary(max_size=300) | st.sampled_from(
    [b"\xc0", b"\xdb", b"\xdb\xdc", b"\x00\x00\x00\x04", b"\x00\x01\x00\x01", b"\xff\xff\xff\xff",
     b"\x00\x00\xff\xff", b"\x00\x00\x00\x00"]), max_size=30)


def check_slip_random(chunks):
    run_decoder(SlipDecoder(), chunks)


def check_length_prefix_random(chunks):
    run_decoder(LengthPrefixDecoder(), chunks)


def check_stream_random(chunks):
    run_decoder(StreamDecoder(), chunks)


def check_round_trip(packets, encode, cuts):
    stream = b"".join(encode(packet) for packet in packets)
    positions = sorted({cut % (len(stream) + 1) for cut in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *positions], [*positions, len(stream)],
                                          strict=True)]
    assert run_decoder(StreamDecoder(), pieces) == packets


def check_big_frames_stay_bounded(sizes):
    decoder = LengthPrefixDecoder()
    for size in sizes:  # frames up to the limit, fed in pieces: held, never more than one
        frame = length_prefix_encode(b"z" * size)
        for start in range(0, len(frame), 20_000):
            run_decoder(decoder, [frame[start:start + 20_000]])
    assert decoder.buffered == 0


test_fuzz_slip, test_fuzz_slip_long = fuzz_pair(CHUNKS)(check_slip_random)
test_fuzz_length_prefix, test_fuzz_length_prefix_long = fuzz_pair(CHUNKS)(
    check_length_prefix_random)
test_fuzz_stream, test_fuzz_stream_long = fuzz_pair(CHUNKS)(check_stream_random)
test_fuzz_round_trip, test_fuzz_round_trip_long = fuzz_pair(
    st.lists(st.binary(min_size=1, max_size=200).filter(lambda p: p[0] not in (0x00, 0xC0)),
             max_size=8),
    st.sampled_from([slip_encode, length_prefix_encode]),
    st.lists(st.integers(0, 10_000), max_size=10))(check_round_trip)
test_fuzz_big_frames, test_fuzz_big_frames_long = fuzz_pair(
    st.lists(st.integers(1, MAX_PACKET), max_size=4), short=30, long=500)(
    check_big_frames_stay_bounded)
