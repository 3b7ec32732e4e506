"""Regression corpus of OSC packets, as byte literals built by hand (not by our encoder).

One place for the unit tests (tests/unit/test_osc_*.py) and the integration tests under
supervisord to share:

- ``hostile(device)``: NAME -> packet that must be refused whole, nothing reaching any device.
  ``HOSTILE_COUNTER[NAME]`` is the listener counter it is refused under. ``HOSTILE`` is the
  same dict for a device called ``x``.
- ``exact(device)``: NAME -> (packet, bytes the device must get, terminator added?). These were
  wrong-byte bugs of python-osc (``,Si``, ``,ci``, ``,sSs``) or crashers (float32 max).
  ``EXACT`` is the same dict for a device called ``x``.

Each name says what the packet is; the comments say which bug found it.
"""

from __future__ import annotations

IMMEDIATELY = b"\x00\x00\x00\x00\x00\x00\x00\x01"


def pad(raw: bytes) -> bytes:
    """NUL-terminate and pad to a multiple of 4, as OSC strings are."""
    return raw + b"\x00" * (4 - len(raw) % 4)


def msg(address: str, tags: str, *data: bytes) -> bytes:
    return pad(address.encode()) + pad(tags.encode()) + b"".join(data)


def bundle(timetag: bytes, *elements: bytes) -> bytes:
    return b"#bundle\x00" + timetag + b"".join(len(e).to_bytes(4, "big") + e for e in elements)


def nested(depth: int, inner: bytes) -> bytes:
    for _ in range(depth):
        inner = bundle(IMMEDIATELY, inner)
    return inner


def i32(value: int) -> bytes:
    return value.to_bytes(4, "big", signed=True)


def hostile(device: str = "x") -> dict[str, bytes]:
    good = msg(f"/device/{device}/message", ",s", pad(b"ok"))
    cue = f"/device/{device}/message"
    return {
        # python-osc walked backwards on a negative element size and looped forever (issue 6).
        "bundle_element_size_minus_4": b"#bundle\x00" + IMMEDIATELY + b"\xff\xff\xff\xfc",
        "bundle_element_size_zero": b"#bundle\x00" + IMMEDIATELY + b"\x00\x00\x00\x00",
        "bundle_element_size_not_multiple_of_4": (
            b"#bundle\x00" + IMMEDIATELY + i32(len(good) - 1) + good),
        "bundle_element_past_end": b"#bundle\x00" + IMMEDIATELY + i32(len(good) + 4) + good,
        "bundle_element_size_cut_short": b"#bundle\x00" + IMMEDIATELY + b"\x00\x00",
        "bundle_without_timetag": b"#bundle\x00\x00\x00\x00\x00",
        "bundle_nested_9_deep": nested(9, good),
        "bundle_element_garbage": bundle(IMMEDIATELY, b"abcd"),
        "bundle_with_one_bad_element": bundle(IMMEDIATELY, good, msg(cue, ",i", b"\x00\x00")),
        "empty_packet": b"",
        "no_slash_no_bundle": b"hello\x00\x00\x00",
        "address_without_nul": b"/device/x/message",
        "address_not_utf8": pad(b"/device/\xff\xfe/message") + pad(b",s") + pad(b"ok"),
        "address_bad_padding": b"/device/" + device.encode() + b"/message\x00x" + b"\x00" * 8,
        # python-osc skipped tags it did not know without reading their data (issue 7).
        "unknown_type_tag": msg(cue, ",x", i32(5)),
        "unknown_type_tag_between_strings": msg(cue, ",sxs", pad(b"PRE"), i32(1), pad(b"POST")),
        "type_tags_without_comma": pad(cue.encode()) + pad(b"s") + pad(b"ok"),
        "type_tags_not_ascii": pad(cue.encode()) + pad(b",\xe9") + pad(b"ok"),
        "type_tags_without_nul": pad(cue.encode()) + b",sss",
        "int_truncated": msg(cue, ",i", b"\x00\x01"),
        "float_missing": msg(cue, ",f"),
        "double_truncated": msg(cue, ",d", b"\x00" * 4),
        "int64_truncated": msg(cue, ",h", b"\x00" * 7),
        "timetag_truncated": msg(cue, ",t", b"\x00" * 4),
        "char_truncated": msg(cue, ",c", b"\x00\x41"),
        "char_surrogate": msg(cue, ",c", b"\x00\x00\xd8\x00"),
        "char_beyond_unicode": msg(cue, ",c", b"\x00\x11\x00\x00"),
        "midi_truncated": msg(cue, ",m", b"\x00\x90"),
        "string_missing": msg(cue, ",ss", pad(b"one")),
        "string_without_nul": msg(cue, ",s", b"abcd"),
        "string_bad_padding": msg(cue, ",s", b"ab\x00x"),
        "string_padding_missing": msg(cue, ",s", b"abcd\x00"),
        "string_not_utf8": msg(cue, ",s", pad(b"caf\xe9")),
        "blob_negative_size": msg(cue, ",b", i32(-4), b"abcd"),
        "blob_size_past_end": msg(cue, ",b", i32(100), b"abcd"),
        "blob_size_missing": msg(cue, ",b", b"\x00\x00"),
        "blob_bad_padding": msg(cue, ",b", i32(1), b"a\x00\x00z"),
        "trailing_bytes": msg(cue, ",s", pad(b"ok"), b"\x00\x00\x00\x00"),
        "trailing_bytes_no_tags": pad(cue.encode()) + b"\x00\x00\x00\x00",
        "array_not_closed": msg(cue, ",[s", pad(b"ok")),
        "array_not_opened": msg(cue, ",s]", pad(b"ok")),
        # Well-formed OSC that Oscar refuses: routed, nothing sent.
        "infinitum_argument": msg(cue, ",sI", pad(b"POWR")),
        "nil_argument": msg(cue, ",sN", pad(b"POWR")),
        "timetag_argument": msg(cue, ",t", IMMEDIATELY),
        "midi_argument": msg(cue, ",m", b"\x00\x90\x3c\x64"),
        "colour_argument": msg(cue, ",r", b"\xff\x00\x00\xff"),
        "array_argument": msg(cue, ",[s]", pad(b"ok")),
        "no_arguments": msg(cue, ","),
        "no_type_tags": pad(cue.encode()),
        "hex_odd_digits": msg(f"/device/{device}/hex", ",s", pad(b"BE E F")),
        "hex_not_hex": msg(f"/device/{device}/hex", ",s", pad(b"BEEG")),
        "hex_two_arguments": msg(f"/device/{device}/hex", ",ss", pad(b"BE"), pad(b"EF")),
        "hex_int_argument": msg(f"/device/{device}/hex", ",i", i32(190)),
        "bad_escape": msg(cue, ",s", pad(b"POWR\\q")),
        "unknown_verb": msg(f"/device/{device}/power", ",s", pad(b"on")),
        "unknown_address": msg("/cue/1/start", ",s", pad(b"go")),
        "pattern_unclosed_bracket": msg("/device/[abc/message", ",s", pad(b"on")),
        "pattern_10000_stars": msg("/device/" + "*" * 10_000 + "/message", ",s", pad(b"on")),
        "name_60k_long": msg("/device/" + "n" * 60_000 + "/message", ",s", pad(b"on")),
    }


HOSTILE_COUNTER = {name: "malformed" for name in hostile()} | {
    "infinitum_argument": "wrong_type",
    "nil_argument": "wrong_type",
    "timetag_argument": "wrong_type",
    "midi_argument": "wrong_type",
    "colour_argument": "wrong_type",
    "array_argument": "wrong_type",
    "no_arguments": "wrong_type",
    "no_type_tags": "wrong_type",
    "hex_odd_digits": "bad_hex",
    "hex_not_hex": "bad_hex",
    "hex_two_arguments": "wrong_type",
    "hex_int_argument": "wrong_type",
    "bad_escape": "bad_escape",
    "unknown_verb": "unknown_verb",
    "unknown_address": "unknown_address",
    "pattern_unclosed_bracket": "bad_pattern",
    "pattern_10000_stars": "bad_pattern",
    "name_60k_long": "unknown_device",
}


def exact(device: str = "x") -> dict[str, tuple[bytes, bytes, bool]]:
    cue = f"/device/{device}/message"
    return {
        # QLab: /device/x/message "%1POWR 1"
        "qlab_power_on": (msg(cue, ",s", pad(b"%1POWR 1")), b"%1POWR 1", True),
        # QLab: /device/x/message SET 3 0.1 (unquoted: string, int32, float32)
        "qlab_words_and_numbers": (msg(cue, ",sif", pad(b"SET"), i32(3), b"\x3d\xcc\xcc\xcd"),
                                   b"SET 3 0.1", True),
        # python-osc read S as nothing and the string's bytes as the int: 1937337600.
        "symbol_then_int": (msg(cue, ",Si", pad(b"sym"), i32(5)), b"sym 5", True),
        # python-osc skipped c and read its 4 bytes as the int: 65.
        "char_then_int": (msg(cue, ",ci", i32(0x41), i32(5)), b"A 5", True),
        # python-osc dropped POST.
        "string_symbol_string": (msg(cue, ",sSs", pad(b"PRE"), pad(b"sym"), pad(b"POST")),
                                 b"PRE sym POST", True),
        # float32 max crashed render_float with OverflowError (issue 6).
        "float32_max": (msg(cue, ",f", b"\x7f\x7f\xff\xff"), b"3.4028235e+38", True),
        "float32_smallest_subnormal": (msg(cue, ",f", b"\x00\x00\x00\x01"), b"1e-45", True),
        "true_false": (msg(cue, ",sTF", pad(b"MUTE")), b"MUTE true false", True),
        "int64_and_double": (msg(cue, ",hd", b"\xff" * 8, b"\x3f\xf8" + b"\x00" * 6),
                             b"-1 1.5", True),
        # A blob is sent exactly: bytes above 0x7F intact, no escape decoding.
        "blob_bytes": (msg(cue, ",b", i32(5), b"\\r\x80\xff\x00\x00\x00\x00"),
                       b"\\r\x80\xff\x00", True),
        "raw_with_escape": (msg(f"/device/{device}/raw", ",s", pad(b"TAKE 1\\r")),
                            b"TAKE 1\r", False),
        "hex_spaced": (msg(f"/device/{device}/hex", ",s", pad(b"BE EF 03 19 00")),
                       b"\xbe\xef\x03\x19\x00", False),
        "hex_0x_commas": (msg(f"/device/{device}/hex", ",S", pad(b"0xBE,0xEF")),
                          b"\xbe\xef", False),
        "bundle_of_one": (bundle(IMMEDIATELY, msg(cue, ",s", pad(b"GO"))), b"GO", True),
    }


HOSTILE = hostile()
EXACT = exact()
