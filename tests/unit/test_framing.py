import pytest

from oscar.framing import (
    MAX_PACKET,
    FramingError,
    LengthPrefixDecoder,
    SlipDecoder,
    StreamDecoder,
    length_prefix_encode,
    slip_encode,
)

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
