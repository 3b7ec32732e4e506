import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import ParseError

from oscar.osc_routing import Route, RouteError, command_bytes, parse_packet, route

# What QLab sends for the cue text `%1POWR 1` typed in quotes: address padded to 20 bytes,
# type tags ",s" padded to 4, the string and its terminating NUL padded to 12.
POWER_ON = b"/device/p1/message\x00\x00,s\x00\x00%1POWR 1\x00\x00\x00\x00"
# `/device/sw/message SET 3 0.1`: unquoted words and numbers arrive as string, int32, float32.
SET_IN = b"/device/sw/message\x00\x00,sif\x00\x00\x00\x00SET\x00\x00\x00\x00\x03=\xcc\xcc\xcd"
IMMEDIATELY = b"\x00\x00\x00\x00\x00\x00\x00\x01"


def bundle(*elements: bytes) -> bytes:
    return b"#bundle\x00" + IMMEDIATELY + b"".join(
        len(e).to_bytes(4, "big") + e for e in elements
    )


def message(address: bytes, tags: bytes, *args: bytes) -> bytes:
    """Hand-built OSC message; each part is NUL-terminated and padded to 4 bytes by hand."""
    return address + tags + b"".join(args)


def test_fixtures_are_padded_exactly_as_an_osc_sender_pads_them():
    for packet, args in ((POWER_ON, ["%1POWR 1"]), (SET_IN, ["SET", 3, 0.1])):
        builder = OscMessageBuilder(parse_packet(packet)[0][0])
        for arg in args:
            builder.add_arg(arg)
        assert builder.build().dgram == packet
        assert len(packet) % 4 == 0


# ---- parse_packet ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("packet", "parsed"),
    [
        (POWER_ON, [("/device/p1/message", ["%1POWR 1"])]),
        (SET_IN, [("/device/sw/message", ["SET", 3, pytest.approx(0.1)])]),
        (message(b"/device/a/message\x00\x00\x00", b",ifd\x00\x00\x00\x00",
                 b"\xff\xff\xff\xfe", b"B\xc8\x00\x00", b"?\xf8\x00\x00\x00\x00\x00\x00"),
         [("/device/a/message", [-2, 100.0, 1.5])]),
        (b"/device/p1/message\x00\x00", [("/device/p1/message", [])]),  # no type tags at all
        (bundle(POWER_ON, SET_IN),
         [("/device/p1/message", ["%1POWR 1"]),
          ("/device/sw/message", ["SET", 3, pytest.approx(0.1)])]),
        (bundle(bundle(POWER_ON)), [("/device/p1/message", ["%1POWR 1"])]),
        (bundle(), []),
    ],
)
def test_parse_packet(packet, parsed):
    assert parse_packet(packet) == parsed


@pytest.mark.parametrize(
    "packet",
    [
        POWER_ON[:-1],  # string runs to the end with no NUL padding
        POWER_ON[:-4],
        POWER_ON[:24],  # type tag says s, no string follows
        b"/device/p1/message\x00\x00,i\x00\x00\x00\x01",  # int32 cut short
        bundle(POWER_ON[:-4]),
        b"#bundle\x00\x00\x00",  # no time tag
        b"",
        b"\xff\xfe",
        b"hello\x00\x00\x00",  # neither '/' nor '#bundle'
        b"/a\x00\x00,s\x00\x00\xff\xfe\x00\x00",  # string that is not UTF-8
    ],
)
def test_parse_packet_truncated_or_garbage_raises_parse_error(packet):
    with pytest.raises(ParseError):
        parse_packet(packet)


# ---- route -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (POWER_ON, Route("p1", "message", "%1POWR 1")),
        (SET_IN, Route("sw", "message", "SET 3 0.1")),
        (message(b"/device/lx/message\x00\x00", b",sf\x00", b"GO\x00\x00", b"B\xc8\x00\x00"),
         Route("lx", "message", "GO 100.0")),
        (message(b"/device/v/message\x00\x00\x00", b",s\x00\x00", b"%1POWR 1\\r\x00\x00"),
         Route("v", "message", "%1POWR 1\\r")),  # escapes stay as typed until command_bytes
    ],
)
def test_route_qlab_packets(packet, expected):
    [(address, args)] = parse_packet(packet)
    assert route(address, args) == expected


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["SET", "IN", 3], "SET IN 3"),
        ([-7], "-7"),
        ([0.1], "0.1"),
        ([100.0], "100.0"),
        ([-2.25], "-2.25"),
        ([1234567.0], "1234567.0"),
        ([0.33333334326744080], "0.33333334"),  # float32 1/3: shortest text that round-trips
        ([1 / 3], "0.3333333333333333"),  # a double keeps its own precision
        (["a b", "", "c"], "a b  c"),  # arguments are joined as given, with single spaces
    ],
)
def test_route_renders_arguments_as_text(args, text):
    assert route("/device/d/message", args).text == text


@pytest.mark.parametrize(
    ("address", "args", "counter", "device"),
    [
        ("/cue/1/start", ["x"], "unknown_address", ""),
        ("/device/p1", ["x"], "unknown_address", ""),
        ("/device//message", ["x"], "unknown_address", ""),
        ("/device/p1/", ["x"], "unknown_address", ""),
        ("/device/p1/power", ["x"], "unknown_verb", "p1"),
        ("/device/p1/message/extra", ["x"], "unknown_verb", "p1"),
        ("/device/p1/message", [], "wrong_type", "p1"),
        ("/device/p1/message", [True], "wrong_type", "p1"),
        ("/device/p1/message", ["POWR", False], "wrong_type", "p1"),
        ("/device/p1/message", [b"\x01\x02"], "wrong_type", "p1"),
        ("/device/p1/message", [None], "wrong_type", "p1"),
        ("/device/p1/message", [float("nan")], "wrong_type", "p1"),
        ("/device/p1/message", [float("inf")], "wrong_type", "p1"),
        ("/device/p1/message", [(0, 144, 60, 100)], "wrong_type", "p1"),  # a MIDI argument
    ],
)
def test_route_refusals_carry_the_counter_and_device(address, args, counter, device):
    with pytest.raises(RouteError) as caught:
        route(address, args)
    assert (caught.value.counter, caught.value.device) == (counter, device)


def test_route_refuses_blob_and_bool_arguments_from_real_packets():
    packet = message(b"/device/p1/message\x00\x00", b",Tb\x00",
                     b"\x00\x00\x00\x02\x01\x02\x00\x00")
    [(address, args)] = parse_packet(packet)
    assert args == [True, b"\x01\x02"]
    with pytest.raises(RouteError, match="not a string or number") as caught:
        route(address, args)
    assert caught.value.counter == "wrong_type"


# ---- command_bytes -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "encoding", "data"),
    [
        ("%1POWR 1", "utf-8", b"%1POWR 1"),
        ("%1POWR 1\\r", "utf-8", b"%1POWR 1\r"),
        ("\\x02PON\\x03", "ascii", b"\x02PON\x03"),
        ("caf\u00e9", "utf-8", b"caf\xc3\xa9"),
        ("caf\u00e9", "latin-1", b"caf\xe9"),
    ],
)
def test_command_bytes(text, encoding, data):
    assert command_bytes(Route("p1", "message", text), encoding) == data


@pytest.mark.parametrize(
    ("text", "encoding", "counter"),
    [
        ("POWR\\q", "utf-8", "bad_escape"),
        ("POWR 1\\", "utf-8", "bad_escape"),
        ("\\xZZ", "utf-8", "bad_escape"),
        ("caf\u00e9", "ascii", "bad_encoding"),
        ("\u2603", "latin-1", "bad_encoding"),
    ],
)
def test_command_bytes_refusals(text, encoding, counter):
    with pytest.raises(RouteError) as caught:
        command_bytes(Route("p1", "message", text), encoding)
    assert (caught.value.counter, caught.value.device) == (counter, "p1")
