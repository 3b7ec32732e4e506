import pytest
from hypothesis import strategies as st

from oscar.hexbytes import HexError, parse_hex
from tests.unit.fuzzing import fuzz_pair


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("BE EF 03 19 00", b"\xbe\xef\x03\x19\x00"),
        ("0xBE,0xEF", b"\xbe\xef"),
        ("0xBE, 0xEF", b"\xbe\xef"),
        ("beef0319", b"\xbe\xef\x03\x19"),
        ("be:ef:00", b"\xbe\xef\x00"),
        ("0XbeEF", b"\xbe\xef"),
        ("  00  ", b"\x00"),
        ("\tff\t", b"\xff"),
        ("02 50 4F 4E 03", b"\x02PON\x03"),
    ],
)
def test_parse_hex(text, data):
    assert parse_hex(text) == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no hex digits"),
        ("  , : ", "no hex digits"),
        ("BE E F", "odd number of hex digits (1) in the group at position 4"),
        ("BEE", "odd number of hex digits (3) in the group at position 1"),
        ("BE EG", "'G' at position 5 is not a hex digit"),
        ("0x", "'0x' at position 1 has no digits"),
        ("BE 0x", "'0x' at position 4 has no digits"),
        ("BE0xEF", "'x' at position 4 is not a hex digit"),
        ("BE-EF", "'-' at position 3 is not a hex digit"),
        ("\\xBE", "'\\\\' at position 1 is not a hex digit"),
        ("BE\nEF", "'\\n' at position 3 is not a hex digit"),
        ("\u0662\u0662", "position 1 is not a hex digit"),  # Arabic-Indic digits are not hex
    ],
)
def test_parse_hex_refusals_name_the_position(text, message):
    with pytest.raises(HexError) as caught:
        parse_hex(text)
    assert message in str(caught.value)


def check_round_trip(data, separator, prefix, upper):
    digits = [f"{byte:02X}" if upper else f"{byte:02x}" for byte in data]
    text = separator.join(prefix + d for d in digits)
    assert parse_hex(text) == data


def check_any_text(text):
    try:
        data = parse_hex(text)
    except HexError as exc:
        assert len(str(exc)) < 120
        return
    assert 0 < len(data) <= len(text) // 2


test_fuzz_round_trip, test_fuzz_round_trip_long = fuzz_pair(
    st.binary(min_size=1, max_size=64), st.sampled_from([" ", ",", ":", ", ", "  "]),
    st.sampled_from(["", "0x", "0X"]), st.booleans())(check_round_trip)
test_fuzz_any_text, test_fuzz_any_text_long = fuzz_pair(
    st.text(st.sampled_from("0123456789abcdefABCDEFxXg ,:\t\n-\u0662"), max_size=80)
    | st.text(max_size=40))(check_any_text)
