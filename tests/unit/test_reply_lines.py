"""ReplyLines: reply framing per device, bounded, the same lines however the bytes are chunked."""

import pytest
from hypothesis import strategies as st

from oscar.devices.reply_lines import ReplyLines
from tests.unit.fuzzing import fuzz_pair


def feed_all(splitter, chunks):
    lines = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines


def test_default_splits_on_cr_lf_and_crlf_and_drops_empty_lines():
    lines = ReplyLines()
    assert lines.feed(b"%1POWR=OK\r%1INPT=OK\n\r\nACK\r\nhalf") == [
        b"%1POWR=OK", b"%1INPT=OK", b"ACK"]
    assert lines.pending() == 4
    assert lines.feed(b"\r") == [b"half"]
    assert lines.pending() == 0


def test_crlf_split_across_chunks_is_one_line_end():
    lines = ReplyLines()
    assert lines.feed(b"E13\r") == [b"E13"]
    assert lines.feed(b"\nOut2 In1 All\r\n") == [b"Out2 In1 All"]


def test_videohub_blocks():
    lines = ReplyLines(b"\n\n")
    assert lines.feed(b"ACK\n\nVIDEO OUTPUT ROUTING:\n4 2\n\nNA") == [
        b"ACK", b"VIDEO OUTPUT ROUTING:\n4 2"]
    assert lines.feed(b"K\n") == []
    assert lines.feed(b"\n") == [b"NAK"]


def test_epson_colon_prompt_trims_cr_and_keeps_the_bare_ack():
    lines = ReplyLines(b":")
    assert lines.feed(b"PWR=01\r:") == [b"PWR=01"]
    assert lines.feed(b":") == [b""]  # PWR ON answered with a bare prompt
    assert lines.feed(b"ERR\r:") == [b"ERR"]


def test_christie_parenthesis():
    lines = ReplyLines(b")")
    assert lines.feed(b'(PWR!001 "On")\r\n(PWR!000') == [b'(PWR!001 "On"']
    assert lines.feed(b")") == [b"(PWR!000"]


def test_multi_byte_terminator_split_in_every_place():
    for cut in range(1, 8):
        lines = ReplyLines(b"\r\n")
        data = b"ok\r\nE14\r\n"
        assert lines.feed(data[:cut]) + lines.feed(data[cut:]) == [b"ok", b"E14"]


def test_a_flood_without_terminator_is_emitted_in_limit_pieces():
    lines = ReplyLines(limit=10)
    out = lines.feed(b"x" * 25)
    assert out == [b"x" * 10, b"x" * 10]
    assert lines.pending() == 5
    exact = ReplyLines(b"\r\n", limit=10)
    assert exact.feed(b"y" * 12) == [b"y" * 10]
    assert exact.pending() == 2


def test_a_line_exactly_at_the_limit_is_not_cut():
    lines = ReplyLines(b"\r\n", limit=4)
    assert lines.feed(b"abcd\r") == []
    assert lines.feed(b"\n") == [b"abcd"]


def test_a_huge_stream_stays_bounded():
    lines = ReplyLines(b"\n\n", limit=1000)
    for _ in range(200):
        lines.feed(b"z" * 997)
        assert lines.pending() < 1002


def test_limit_must_be_positive():
    with pytest.raises(ValueError):
        ReplyLines(limit=0)


TERMINATORS = st.sampled_from([b"", b"\r", b"\r\n", b"\n\n", b":", b")", b"END"])


@st.composite
def chunked(draw):
    data = draw(st.binary(max_size=300) | st.lists(
        st.sampled_from([b"\r", b"\n", b"\r\n", b"ok", b":", b")", b"\n\n", b"E", b"ND", b"x"]),
        max_size=60).map(b"".join))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)], strict=True)]
    return data, chunks


def check_chunking_never_changes_the_lines(terminator, limit, sample):
    data, chunks = sample
    whole = ReplyLines(terminator, limit)
    pieces = ReplyLines(terminator, limit)
    assert whole.feed(data) == feed_all(pieces, chunks)
    assert whole.pending() == pieces.pending()
    assert whole.pending() < limit + max(1, len(terminator))
    for line in feed_all(ReplyLines(terminator, limit), chunks):
        assert len(line) <= limit
        if terminator:
            assert terminator not in line
        else:
            assert line and b"\r" not in line and b"\n" not in line


test_chunking_fuzz, test_chunking_fuzz_long = fuzz_pair(
    TERMINATORS, st.integers(1, 40), chunked())(check_chunking_never_changes_the_lines)
