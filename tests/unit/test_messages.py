import msgpack
import pytest

from oscar.messages import (
    Ack,
    ActorAlive,
    ActorStatus,
    Command,
    CommandBatch,
    ConfigBeacon,
    ConfigSnapshot,
    DecodeError,
    DeviceConfig,
    Event,
    FeedbackTargets,
    ListenerStatus,
    Message,
    Reply,
    Request,
    decode,
    device_topic,
)

DEVICE = {"name": "proj", "host": "127.0.0.1", "port": 9999, "enabled": True,
          "terminator": "\\r", "encoding": "utf-8", "ttl": 10.0, "backoff_min": 0.5,
          "backoff_max": 10.0}

# Every kind with the topic it is published under.
EXAMPLES = [
    (Command(device="proj", data=b"%1POWR 1\xff\x00", received_at=1700000000.25,
             sender="10.0.0.5:53000", seq=7, terminate=False), b"command.proj:"),
    (CommandBatch(device="proj", commands=[
        Command(device="proj", data=b"A\xff", received_at=1700000000.25, sender="h:1", seq=8),
        Command(device="proj", data=b"B", received_at=1700000000.5, seq=9, terminate=False)]),
     b"commands.proj:"),
    (Ack(device="proj", seqs=[7, 8]), b"ack.proj:"),
    (DeviceConfig(name="proj", device=DEVICE, revision=3), b"config.device.proj:"),
    (DeviceConfig(name="proj", device=None, revision=4), b"config.device.proj:"),
    (ConfigSnapshot(devices=[DEVICE], revision=4), b"config.snapshot:"),
    (ConfigBeacon(revision=4, store_id="s1"), b"config.beacon:"),
    (ConfigBeacon(revision=4, store_id="s1", registry_run=1700000000.5), b"config.beacon:"),
    (Event(source="device", event="sent", detail="%1POWR 1", device="proj", sender="q", at=5.0),
     b"event.device.proj:sent"),
    (Event(source="listener", event="rejected", detail="unknown device 'x'", at=6.0),
     b"event.listener:rejected"),
    (ActorStatus(device="proj", state="connected", since=1.0, pid=42, peer="127.0.0.1:9999",
                 sent=3, dropped=1, queued=2, last_error="refused", last_error_at=0.5, at=7.0),
     b"status.device.proj:"),
    (ActorAlive(device="proj", pid=42, at=9.0), b"status.alive.proj:"),
    (ListenerStatus(pid=41, udp_port=53999, tcp_port=53999,
                    counters={"packets": 10, "malformed": 1}, at=8.0), b"status.listener:"),
    (FeedbackTargets(targets=["udp://10.0.0.9:53000", "tcp://[::1]:9000"]),
     b"config.feedback:"),
    (Request(op="add", args={"name": "proj", "port": 9999}), b"request"),
    (Reply(ok=False, code="invalid", error="port: must be 1-65535",
           fields={"port": "must be 1-65535"}), b"reply"),
    (Reply(ok=True, result=[{"name": "proj"}]), b"reply"),
]
MESSAGES = [message for message, _ in EXAMPLES]


def test_every_message_kind_has_an_example():
    assert {type(m) for m in MESSAGES} == set(Message.__subclasses__())


@pytest.mark.parametrize(("message", "topic"), EXAMPLES, ids=[m.KIND for m in MESSAGES])
def test_encode_decode_round_trip(message, topic):
    frames = message.encode()
    assert frames[0] == message.topic() == topic
    assert decode(frames) == message


def test_wire_format_is_a_msgpack_map_with_kind_and_version():
    assert Request(op="list").encode() == [
        b"request", b"\x84\xa1k\xa7request\xa1v\x01\xa2op\xa4list\xa4args\x80",
    ]


def test_command_data_travels_as_msgpack_bin():
    body = Command(device="p1", data=b"%1POWR 1", received_at=1.5).encode()[1]
    assert b"\xa4data\xc4\x08%1POWR 1" in body


@pytest.mark.parametrize(
    ("subscription", "make"),
    [
        ("command", lambda name: Command(device=name, data=b"x", received_at=0.0)),
        ("ack", lambda name: Ack(device=name, seqs=[1])),
        ("config.device", lambda name: DeviceConfig(name=name, device=None, revision=1)),
        ("event.device", lambda name: Event(source="device", event="sent", detail="",
                                            device=name)),
        ("status.device", lambda name: ActorStatus(device=name, state="connected", since=0.0,
                                                   pid=1)),
    ],
)
def test_subscribing_to_a_device_does_not_match_a_longer_name(subscription, make):
    prefix = device_topic(subscription, "proj")
    assert make("proj").topic().startswith(prefix)
    assert not make("projector").topic().startswith(prefix)
    assert not make("proj.left").topic().startswith(prefix)


def test_device_topic_ends_the_name_with_a_colon():
    assert device_topic("event.device", "proj", "state") == b"event.device.proj:state"


def body(**fields):
    return msgpack.packb(fields, use_bin_type=True)


@pytest.mark.parametrize(
    ("frames", "error"),
    [
        ([body(k="request", v=1, op="list")], "expected 2 frames [topic, body], got 1"),
        ([b"request", body(k="request", v=1, op="list"), b""], "got 3"),
        ([], "got 0"),
        ([b"request", b"\xc1"], "body is not msgpack"),
        ([b"request", b""], "body is not msgpack"),
        ([b"request", body(k="request", v=1, op="list") + b"\x00"], "body is not msgpack"),
        ([b"request", msgpack.packb(["request", 1])], "body is not a map"),
        ([b"request", msgpack.packb("request")], "body is not a map"),
        ([b"x", body(k="launch", v=1)], "unknown message kind 'launch'"),
        ([b"x", body(v=1, op="list")], "unknown message kind None"),
        ([b"x", body(k=["request"], v=1)], "unknown message kind ['request']"),
        ([b"x", body(k=b"request", v=1, op="list")], "unknown message kind b'request'"),
        ([b"request", body(k="request", v=2, op="list")], "request version 2 not supported"),
        ([b"request", body(k="request", op="list")], "request version None not supported"),
        ([b"command.p:", body(k="command", v=1, device="p")], "command: "),
        ([b"request", body(k="request", v=1)], "missing 1 required positional argument: 'op'"),
    ],
)
def test_decode_refuses_what_is_not_an_oscar_message(frames, error):
    with pytest.raises(DecodeError) as caught:
        decode(frames)
    assert error in str(caught.value)


def test_decode_ignores_fields_it_does_not_know():
    frames = [b"request", body(k="request", v=1, op="list", added_later=True)]
    assert decode(frames) == Request(op="list")
