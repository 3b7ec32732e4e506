"""Wire decode under hostile input: nested fields type-checked, text capped, and nothing but
DecodeError ever escapes decode() (property-based, plus byte literals for each crasher found)."""

import math

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oscar import cli_format, history, records
from oscar.messages import (
    _KINDS,
    TEXT_CAP,
    TRUNCATED,
    Ack,
    ActorStatus,
    ConfigSnapshot,
    DecodeError,
    DeviceConfig,
    Event,
    ListenerStatus,
    Message,
    Reply,
    Request,
    cap,
    decode,
)
from oscar.models import Device
from oscar.status_table import StatusTable
from oscar.web import present
from tests.unit.test_messages import DEVICE, MESSAGES


def body(**fields):
    return msgpack.packb(fields, use_bin_type=True)


def frames_of(kind, **fields):
    return [kind.encode(), body(k=kind, v=1, **fields)]


# ---- regression: each bad message that used to get through ----------------------------------

BAD = [
    # Ack.seqs not a list of ints: the listener iterated and crashed
    (frames_of("ack", device="p", seqs="abc"), "ack.seqs: expected a list, got str"),
    (frames_of("ack", device="p", seqs=[1, "2"]), "ack.seqs: [1]: expected int, got str"),
    (frames_of("ack", device="p", seqs=[True]), "ack.seqs: [0]: expected int, got bool"),
    (frames_of("ack", device="p", seqs=None), "expected a list, got NoneType"),
    # ConfigSnapshot.devices: records with wrong types crashed followers and the web page
    (frames_of("config.snapshot", devices=[1, 2], revision=3),
     "config.snapshot.devices: [0]: expected a device record (map), got int"),
    (frames_of("config.snapshot", devices=[{**DEVICE, "port": "9999"}], revision=3),
     "[0]: port: expected int, got str"),
    (frames_of("config.snapshot", devices=[{**DEVICE, "enabled": 1}], revision=3),
     "enabled: expected bool, got int"),
    (frames_of("config.snapshot", devices=[{"host": "h", "port": 1}], revision=3),
     "device record without 'name'"),
    (frames_of("config.snapshot", devices=[{**DEVICE, "name": "a:b"}], revision=3),
     "is not a device name"),
    (frames_of("config.snapshot", devices=[{**DEVICE, "ttl": float("nan")}], revision=3),
     "ttl: expected a finite number"),
    (frames_of("config.snapshot", devices={"proj": DEVICE}, revision=3), "expected a list"),
    (frames_of("config.snapshot", devices=[], revision="3"), "revision: expected int, got str"),
    (frames_of("config.snapshot", devices=[], revision=True), "expected int, got bool"),
    (frames_of("config.device", name="p", device="x", revision=1), "expected a device record"),
    (frames_of("config.device", name="p", device=[DEVICE], revision=1), "got list"),
    (frames_of("config.device", name="p/../x", device=None, revision=1), "not a device name"),
    (frames_of("config.device", name="p", device=None, revision=1, store_id=7),
     "store_id: expected str, got int"),
    # ListenerStatus.counters: oscar status summed them and raised
    (frames_of("status.listener", pid=1, udp_port=1, tcp_port=1, counters={"packets": "x"}),
     "counters: ['packets']: expected int, got str"),
    (frames_of("status.listener", pid=1, udp_port=1, tcp_port=1, counters=[1, 2]),
     "expected a map, got list"),
    (frames_of("status.listener", pid=1, udp_port=1, tcp_port=1, counters={"x" * 65: 1}),
     "key longer than 64 characters"),
    (frames_of("status.listener", pid=1, udp_port=1, tcp_port=1,
               counters={f"c{i}": 1 for i in range(257)}), "more than 256 entries"),
    (frames_of("status.listener", pid=1, udp_port=1, tcp_port=1, counters={}, at=1e300),
     "timestamp 1e+300 out of range"),
    (frames_of("status.device", device="p", state="connected", since=float("inf"), pid=1),
     "status.device.since: expected a finite number"),
    (frames_of("status.device", device="p", state="connected", since=1.0, pid=1,
               last_error=b"bytes"), "last_error: expected str, got bytes"),
    (frames_of("status.device", device="p", state="connected", since=1.0, pid=1.5),
     "pid: expected int, got float"),
    (frames_of("event", source="listener", event="rejected", detail=["x"]),
     "event.detail: expected str, got list"),
    (frames_of("command", device="p", data="text, not bytes", received_at=1.0),
     "command.data: expected bytes, got str"),
    (frames_of("command", device="p", data=b"x", received_at=1.0, terminate=1),
     "terminate: expected bool, got int"),
    (frames_of("request", op="list", args=[1]), "request.args: expected a map, got list"),
    (frames_of("reply", ok=False, fields={"port": 5}), "reply.fields: ['port']: expected str"),
    (frames_of("reply", ok=1), "reply.ok: expected bool, got int"),
    # envelope-level junk
    ([b"request", body(k="request", v=True, op="list")], "request version True not supported"),
    ([b"x", body(k="x" * 100_000, v=1)], "unknown message kind 'xxxxx"),
    ([b"request", b"\x91" * 100_000], "body is not msgpack"),
    ([b"request", b"\x81\x01\x02"], "body is not msgpack"),  # int map key
    ([b"request", b"\xc7\x01\x05x"], "body is not a map"),  # ext type
    ([b"request", b"\x82\xa1k\xa7request\xa1v\xc3"], "version True"),
    ([b"request", b"\xa3\xff\xfe\xfd"], "body is not msgpack"),  # invalid UTF-8 str
    ("not a list of frames", "expected 2 frames"),
    (None, "frames are not a list"),
    ([b"request", None], "body is not msgpack"),
]


@pytest.mark.parametrize(("frames", "error"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_decode_refuses_wrong_nested_types(frames, error):
    with pytest.raises(DecodeError) as caught:
        decode(frames)
    assert error in str(caught.value)
    assert len(str(caught.value)) < 300  # an error message never quotes a whole field


def test_decode_accepts_ints_for_floats_and_missing_optional_fields():
    decoded = decode(frames_of("status.device", device="p", state="connected", since=5, pid=1))
    assert decoded.since == 5.0 and isinstance(decoded.since, float)


def test_snapshot_devices_may_carry_fields_this_oscar_does_not_know():
    decoded = decode(ConfigSnapshot([{**DEVICE, "colour": "red"}], 1, "s1").encode())
    assert decoded.devices[0]["colour"] == "red"


def test_store_id_travels_with_config_and_defaults_to_empty():
    assert decode(DeviceConfig("p", DEVICE, 4, "abc").encode()).store_id == "abc"
    assert decode(frames_of("config.snapshot", devices=[], revision=1)).store_id == ""


# ---- caps ------------------------------------------------------------------------------------

def test_cap_keeps_short_text_and_marks_cut_text():
    assert cap("short") == "short"
    assert cap("x" * TEXT_CAP) == "x" * TEXT_CAP
    cut = cap("x" * 60_000)
    assert len(cut) == TEXT_CAP and cut.endswith(TRUNCATED)


def test_a_60kb_address_in_an_event_is_capped_when_built_and_when_decoded():
    address = "/device/" + "x" * 60_000 + "/message"
    built = Event("listener", "rejected", f"unknown_device: {address}", device="d" * 500,
                  sender="s" * 500)
    assert max(len(built.detail), len(built.device), len(built.sender)) == TEXT_CAP
    assert built.detail.startswith("unknown_device: /device/xxx")
    assert len(built.encode()[1]) < 1200
    # a peer that does not cap (an older Oscar, a hostile one) is capped on arrival
    raw = frames_of("event", source="listener", event="rejected", detail=address, sender="q")
    decoded = decode(raw)
    assert len(decoded.detail) == TEXT_CAP and decoded.detail.endswith(TRUNCATED)


def test_status_text_fields_are_capped():
    raw = frames_of("status.device", device="p", state="s" * 9000, since=1.0, pid=1,
                    last_error="e" * 9000, last_command="c" * 9000, last_reply="r" * 9000,
                    peer="p" * 9000)
    status = decode(raw)
    for name in ("state", "last_error", "last_command", "last_reply", "peer"):
        assert len(getattr(status, name)) == TEXT_CAP, name


def test_reply_error_and_field_messages_are_capped():
    reply = Reply(ok=False, code="bad_request", error="unknown operation " + "x" * 10**6,
                  fields={"port": "got " + "9" * 10**5})
    assert len(reply.error) == 1000 and len(reply.fields["port"]) == TEXT_CAP
    assert len(reply.encode()[1]) < 2000


# ---- decoded messages are safe to use --------------------------------------------------------

def render_status(message: Message) -> None:
    """What `oscar status`, the devices page and /api/status do with a status message."""
    table = StatusTable()
    if isinstance(message, ActorStatus):
        table.record_status(message)
        devices = [Device(name=message.device, host="h", port=1)]
    elif isinstance(message, ListenerStatus):
        table.listener = message
        devices = []
    elif isinstance(message, Event):
        present.event_cells(history.row_of(1, message, 0.0).public())
        cli_format.ago(message.at)
        return
    else:
        return
    status = {"devices": [table.device_row(d) for d in devices],
              "listener": table.listener_row(), "supervisor_error": "", "at": 1.7e9}
    cli_format.status_table(status)
    present.with_cells(status)
    for row in status["devices"]:
        cli_format.ago(row["since"])


def check_decoded(message: Message) -> None:
    """Every field of a decoded message has its declared type, it encodes again, and the
    status views can show it."""
    for name, check in type(message)._checks:
        check(getattr(message, name))
    # compared as bytes: NaN inside an Any field (Request.args) never equals itself
    assert decode(message.encode()).encode() == message.encode()
    render_status(message)


def decode_or_refuse(frames) -> None:
    try:
        message = decode(frames)
    except DecodeError:
        return
    check_decoded(message)


FIELD_NAMES = sorted({f for cls in _KINDS.values() for f, _ in cls._checks} | {"k", "v"})
scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
           | st.binary(max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8) | st.sampled_from(FIELD_NAMES),
                                        inner, max_size=4), max_leaves=20)
kinds = st.sampled_from(sorted(_KINDS)) | st.text(max_size=10)
random_bodies = st.builds(
    lambda kind, version, extra: {"k": kind, "v": version, **extra},
    kinds, st.sampled_from([1, 1, 1, 2, True, "1", None]),
    st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=8))


def mutate_field(message: Message, name: str, value) -> list[bytes]:
    topic, raw = message.encode()
    data = msgpack.unpackb(raw, raw=False)
    data[name] = value
    return [topic, msgpack.packb(data, use_bin_type=True)]


def flip_bytes(raw: bytes, positions: list[int], byte: int) -> bytes:
    data = bytearray(raw)
    for position in positions:
        data[position % len(data)] = byte
    return bytes(data)


SHORT = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))


def random_frames_test(frames):
    decode_or_refuse(frames)


def random_body_test(data):
    decode_or_refuse([b"topic", msgpack.packb(data, use_bin_type=True)])


def mutated_field_test(message, data):
    names = [f for f, _ in message._checks]
    name = data.draw(st.sampled_from(names))
    value = data.draw(values)
    decode_or_refuse(mutate_field(message, name, value))
    nested = data.draw(values)
    if isinstance(message, ConfigSnapshot):  # one bad value deep inside a device record
        field = data.draw(st.sampled_from(sorted(DEVICE)))
        decode_or_refuse(mutate_field(message, "devices", [{**DEVICE, field: nested}]))


def flipped_bytes_test(message, positions, byte):
    topic, raw = message.encode()
    decode_or_refuse([topic, flip_bytes(raw, positions, byte)])
    decode_or_refuse([topic, raw[:positions[0] % len(raw)]])


frames_strategy = st.lists(st.binary(max_size=64), max_size=4)
messages_strategy = st.sampled_from(MESSAGES)
flip_args = (st.lists(st.integers(0, 10_000), min_size=1, max_size=4), st.integers(0, 255))


@SHORT
@given(frames_strategy)
def test_fuzz_random_frames(frames):
    random_frames_test(frames)


@SHORT
@given(random_bodies)
def test_fuzz_random_msgpack_structures(data):
    random_body_test(data)


@SHORT
@given(messages_strategy, st.data())
def test_fuzz_valid_messages_with_one_field_replaced(message, data):
    mutated_field_test(message, data)


@SHORT
@given(messages_strategy, *flip_args)
def test_fuzz_valid_messages_with_bytes_flipped(message, positions, byte):
    flipped_bytes_test(message, positions, byte)


@pytest.mark.fuzz
@LONG
@given(frames_strategy)
def test_fuzz_long_random_frames(frames):
    random_frames_test(frames)


@pytest.mark.fuzz
@LONG
@given(random_bodies)
def test_fuzz_long_random_msgpack_structures(data):
    random_body_test(data)


@pytest.mark.fuzz
@LONG
@given(messages_strategy, st.data())
def test_fuzz_long_valid_messages_with_one_field_replaced(message, data):
    mutated_field_test(message, data)


@pytest.mark.fuzz
@LONG
@given(messages_strategy, *flip_args)
def test_fuzz_long_valid_messages_with_bytes_flipped(message, positions, byte):
    flipped_bytes_test(message, positions, byte)


@pytest.mark.parametrize("message", MESSAGES, ids=[m.KIND for m in MESSAGES])
def test_every_typed_field_refuses_a_value_of_another_type(message):
    for f in records.fields(message):
        if f.type == "Any":
            continue
        with pytest.raises(DecodeError, match=f"{message.KIND}.{f.name}: "):
            decode(mutate_field(message, f.name, [[{"x": 1.5}]]))


def test_request_args_need_string_keys_and_any_values():
    assert decode(Request("add", {"device": {"port": [1, None]}}).encode()).args == {
        "device": {"port": [1, None]}}


def test_ack_keeps_its_order():
    assert decode(Ack("p", [3, 1, 2]).encode()).seqs == [3, 1, 2]


def test_nan_in_status_is_refused_not_shown():
    raw = frames_of("event", source="device", event="sent", detail="x", at=math.nan)
    with pytest.raises(DecodeError):
        decode(raw)
