import pytest
from hypothesis import strategies as st

from oscar import escapes
from oscar.escapes import EscapeError
from tests.unit.fuzzing import fuzz_pair


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("%1POWR 1", b"%1POWR 1"),
        ("%1POWR 1\\r", b"%1POWR 1\r"),
        ("line\\n", b"line\n"),
        ("a\\tb", b"a\tb"),
        ("\\0", b"\x00"),
        ("C:\\\\show", b"C:\\show"),
        ("\\x02PON\\x03", b"\x02PON\x03"),
        ("\\xfF", b"\xff"),
        ("\\\\r", b"\\r"),  # an escaped backslash followed by a plain r: decoded once only
        ("", b""),
        ("caf\u00e9", b"caf\xc3\xa9"),
    ],
)
def test_decode(typed, expected):
    assert escapes.decode(typed) == expected


def test_decode_uses_the_given_encoding_for_text_but_not_for_hex_escapes():
    assert escapes.decode("caf\u00e9\\xe9", "latin-1") == b"caf\xe9\xe9"


def test_decode_refuses_text_the_encoding_cannot_hold():
    with pytest.raises(UnicodeEncodeError):
        escapes.decode("caf\u00e9", "ascii")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("POWR\\q", "unknown escape \\q at position 4"),
        ('say \\"hi\\"', "unknown escape \\\""),
        ("\\R", "unknown escape \\R"),
        ("POWR 1\\", "lone backslash"),
        ("\\x4", "\\x needs two hex digits at position 0"),
        ("\\x", "\\x needs two hex digits"),
        ("ab\\xg0", "\\x needs two hex digits at position 2"),
        ("\\x+1", "\\x needs two hex digits"),
    ],
)
def test_decode_refuses_anything_but_the_documented_escapes(typed, message):
    with pytest.raises(EscapeError) as caught:
        escapes.decode(typed)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\r", "\\r"),
        (b"\r\n", "\\r\\n"),
        (b"\t", "\\t"),
        (b"a\\b", "a\\\\b"),
        (b"\x00\x7f\xff", "\\x00\\x7f\\xff"),
        (b"%1POWR 1", "%1POWR 1"),
    ],
)
def test_encode(data, text):
    assert escapes.encode(data) == text


def test_encode_then_decode_gives_back_every_byte():
    every_byte = bytes(range(256))
    assert escapes.decode(escapes.encode(every_byte)) == every_byte


def test_error_message_of_a_huge_cue_is_short():
    with pytest.raises(EscapeError) as caught:
        escapes.decode("x" * 60_000 + "\\q" + "y" * 60_000)
    assert "unknown escape \\q at position 60000" in str(caught.value)
    assert len(str(caught.value)) < 200


# ---- fuzzing: decode raises only EscapeError, UnicodeEncodeError or LookupError ---------------

def check_decode_any_text(text, encoding):
    try:
        data = escapes.decode(text, encoding)
    except (EscapeError, UnicodeEncodeError, LookupError) as exc:
        assert len(str(exc)) < 400
        return
    assert isinstance(data, bytes)


def check_encode_decode_round_trip(data):
    assert escapes.decode(escapes.encode(data)) == data


test_fuzz_decode, test_fuzz_decode_long = fuzz_pair(
    st.text(st.sampled_from("ab\\rntx0fFgZ\u00e9\u2603") | st.characters(), max_size=40),
    st.sampled_from(["utf-8", "ascii", "latin-1", "cp1252", "no-such-codec"]))(
    check_decode_any_text)
test_fuzz_round_trip, test_fuzz_round_trip_long = fuzz_pair(st.binary(max_size=200))(
    check_encode_decode_round_trip)
