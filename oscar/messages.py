"""Every ZeroMQ message Oscar sends: the one place that defines fields, topics and versions.

A message is two frames, ``[topic, body]``. The body is a msgpack map with ``k`` (kind),
``v`` (version) and the fields of the dataclass. Topics are dotted; a device name inside a topic
is always followed by ``:`` (not allowed in names) so that subscribing to ``proj`` never matches
``projector``. docs/protocol.md describes the sockets that carry these.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import msgpack

PROTOCOL_VERSION = 1


class DecodeError(ValueError):
    """Frames that are not an Oscar message of a known kind and version."""


_KINDS: dict[str, type[Message]] = {}


def _register(cls: type[Message]) -> type[Message]:
    _KINDS[cls.KIND] = cls
    return cls


@dataclass
class Message:
    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = PROTOCOL_VERSION

    def topic(self) -> bytes:
        return self.KIND.encode()

    def encode(self) -> list[bytes]:
        body = {"k": self.KIND, "v": self.VERSION, **asdict(self)}
        return [self.topic(), msgpack.packb(body, use_bin_type=True)]


def decode(frames: list[bytes]) -> Message:
    if len(frames) != 2:
        raise DecodeError(f"expected 2 frames [topic, body], got {len(frames)}")
    try:
        body = msgpack.unpackb(frames[1], raw=False)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise DecodeError(f"body is not msgpack: {exc}") from None
    if not isinstance(body, dict):
        raise DecodeError("body is not a map")
    kind = body.pop("k", None)
    version = body.pop("v", None)
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DecodeError(f"unknown message kind {kind!r}")
    if version != cls.VERSION:
        raise DecodeError(f"{kind} version {version!r} not supported (want {cls.VERSION})")
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in body.items() if k in names}
    for f in fields(cls):
        expected = _SIMPLE_TYPES.get(str(f.type))
        if expected and f.name in values and not isinstance(values[f.name], expected):
            raise DecodeError(f"{kind}.{f.name}: expected {f.type}, got "
                              f"{type(values[f.name]).__name__}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise DecodeError(f"{kind}: {exc}") from None


# Field annotations checked on decode, so a malformed peer message is refused here rather than
# crashing whoever uses the field.
_SIMPLE_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str, "bytes": bytes, "int": int, "float": (int, float), "bool": bool,
}


def device_topic(prefix: str, name: str, suffix: str = "") -> bytes:
    return f"{prefix}.{name}:{suffix}".encode()


@_register
@dataclass
class Command(Message):
    """Listener -> actor: bytes to write to the device (terminator added by the actor).
    ``seq`` is unique per listener connection, for acks and to discard a resent duplicate."""

    KIND: ClassVar[str] = "command"
    device: str
    data: bytes
    received_at: float  # wall clock, so a command's age is known in any process
    sender: str = ""
    seq: int = 0
    terminate: bool = True

    def topic(self) -> bytes:
        return device_topic("command", self.device)


@_register
@dataclass
class Ack(Message):
    """Actor -> listener: these commands are done with (written to the device, or dropped and
    reported). Until then the listener keeps them, to send again if the connection breaks."""

    KIND: ClassVar[str] = "ack"
    device: str
    seqs: list[int]

    def topic(self) -> bytes:
        return device_topic("ack", self.device)


@_register
@dataclass
class DeviceConfig(Message):
    """Registry PUB: one device's desired state changed (``device`` is None when removed)."""

    KIND: ClassVar[str] = "config.device"
    name: str
    device: dict[str, Any] | None
    revision: int

    def topic(self) -> bytes:
        return device_topic("config.device", self.name)


@_register
@dataclass
class ConfigSnapshot(Message):
    """Registry PUB, repeated every few seconds: all devices, so late joiners catch up."""

    KIND: ClassVar[str] = "config.snapshot"
    devices: list[dict[str, Any]]
    revision: int

    def topic(self) -> bytes:
        return b"config.snapshot:"


@_register
@dataclass
class Event(Message):
    """Something that happened, for the activity log: actor or listener -> registry -> PUB."""

    KIND: ClassVar[str] = "event"
    source: str  # "device" or "listener"
    event: str  # state, sent, dropped, reply, error, rejected
    detail: str
    device: str = ""
    sender: str = ""
    at: float = field(default_factory=time.time)

    def topic(self) -> bytes:
        if self.device:
            return device_topic("event.device", self.device, self.event)
        return f"event.{self.source}:{self.event}".encode()


@_register
@dataclass
class ActorStatus(Message):
    """Actor -> registry on every change and as a heartbeat; registry re-publishes it."""

    KIND: ClassVar[str] = "status.device"
    device: str
    state: str
    since: float
    pid: int
    peer: str = ""
    sent: int = 0
    dropped: int = 0
    queued: int = 0
    replies: int = 0
    reply_bytes: int = 0
    connects: int = 0
    last_error: str = ""
    last_error_at: float = 0.0
    last_command: str = ""
    last_command_at: float = 0.0
    last_reply: str = ""
    last_reply_at: float = 0.0
    next_retry_at: float = 0.0
    at: float = field(default_factory=time.time)

    def topic(self) -> bytes:
        return device_topic("status.device", self.device)


@_register
@dataclass
class ListenerStatus(Message):
    """Listener -> registry heartbeat with its counters."""

    KIND: ClassVar[str] = "status.listener"
    pid: int
    udp_port: int
    tcp_port: int
    counters: dict[str, int]
    at: float = field(default_factory=time.time)

    def topic(self) -> bytes:
        return b"status.listener:"


@_register
@dataclass
class Request(Message):
    """CLI or web -> registry control socket."""

    KIND: ClassVar[str] = "request"
    op: str
    args: dict[str, Any] = field(default_factory=dict)


@_register
@dataclass
class Reply(Message):
    """Registry -> CLI or web. ``code`` is empty on success; ``fields`` carries per-field errors."""

    KIND: ClassVar[str] = "reply"
    ok: bool
    result: Any = None
    code: str = ""
    error: str = ""
    fields: dict[str, str] = field(default_factory=dict)
