"""Every ZeroMQ message Oscar sends: the one place that defines fields, topics and versions.

A message is two frames, ``[topic, body]``. The body is a msgpack map with ``k`` (kind),
``v`` (version) and the fields of the record. Topics are dotted; a device name inside a topic
is always followed by ``:`` (not allowed in names) so that subscribing to ``proj`` never matches
``projector``. docs/protocol.md describes the sockets that carry these.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from operator import attrgetter
from typing import Any, ClassVar

import msgpack

from oscar import feedback_targets, models
from oscar.records import field, fields, record

PROTOCOL_VERSION = 1
# Text a peer sends that the registry keeps or forwards (events, activity, status) is cut to this
# many characters, the last one being TRUNCATED: a 60 KB OSC address must not become 60 KB in
# every event, reply and web page. Applied whenever such a message is built, on either side.
TEXT_CAP = 256
TRUNCATED = "\u2026"  # "…"
ERROR_CAP = 1000  # Reply.error: an import's first problem names an entry and a field
MAX_COUNTERS = 256  # ListenerStatus.counters entries
COUNTER_NAME_CAP = 64
# Timestamps are wall-clock seconds; anything outside this range cannot be shown as a date.
MAX_TIMESTAMP = 1e11
# One packer reused (packb builds one per call). Packing plain types never leaves C code, so
# the GIL keeps threads from sharing it mid-call.
_PACK = msgpack.Packer(use_bin_type=True).pack


class DecodeError(ValueError):
    """Frames that are not an Oscar message of a known kind and version. The only exception
    decode() raises; its text is short and never contains a whole field of the input."""


def cap(text: str, limit: int = TEXT_CAP) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when it was cut."""
    return text if len(text) <= limit else text[:limit - 1] + TRUNCATED


def _short(value: Any) -> str:
    return cap(repr(value), 60)


_KINDS: dict[str, type[Message]] = {}


def _register(cls: type[Message]) -> type[Message]:
    cls._checks = tuple((f.name, cls.CHECKS.get(f.name) or _checker(f.type, f"{cls.KIND}.{f.name}"))
                        for f in fields(cls))
    _KINDS[cls.KIND] = cls
    return cls


@record  # a dataclass for less at every process start (oscar/records.py)
class Message:
    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = PROTOCOL_VERSION
    # Field name -> checker, for fields whose annotation alone says too little.
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    # Field name -> the most characters it keeps (see TEXT_CAP).
    CAPS: ClassVar[dict[str, int]] = {}
    _checks: ClassVar[tuple[tuple[str, Callable[[Any], Any]], ...]] = ()

    def topic(self) -> bytes:
        return self.KIND.encode()

    def encode(self) -> list[bytes]:
        # Shallow on purpose: asdict() deep-copies every field and was a quarter of the
        # listener's time per cue; msgpack walks nested lists and dicts itself.
        body = {"k": self.KIND, "v": self.VERSION}
        for name, _ in self._checks:
            body[name] = getattr(self, name)
        return [self.topic(), msgpack.packb(body, use_bin_type=True)]

    def _cap_texts(self) -> None:
        for name, limit in self.CAPS.items():
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > limit:
                setattr(self, name, cap(value, limit))


def decode(frames: list[bytes]) -> Message:
    """The message in ``frames``; DecodeError (and nothing else) when they are not one.

    Every field is checked against its declared type, nested ones included (an Ack's seqs are
    ints, a snapshot's devices are device records), so whoever uses a decoded message can trust
    its types."""
    try:
        count = len(frames)
    except TypeError:
        raise DecodeError("frames are not a list") from None
    if count != 2:
        raise DecodeError(f"expected 2 frames [topic, body], got {count}")
    try:
        body = msgpack.unpackb(frames[1], raw=False)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise DecodeError(f"body is not msgpack: {cap(str(exc), 80)}") from None
    if not isinstance(body, dict):
        raise DecodeError("body is not a map")
    kind = body.pop("k", None)
    version = body.pop("v", None)
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DecodeError(f"unknown message kind {_short(kind)}")
    if type(version) is not int or version != cls.VERSION:
        raise DecodeError(f"{kind} version {_short(version)} not supported (want {cls.VERSION})")
    values = {}
    for name, check in cls._checks:
        if name in body:
            try:
                values[name] = check(body[name])
            except _Bad as exc:
                raise DecodeError(f"{kind}.{name}: {exc}") from None
    try:
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        raise DecodeError(f"{kind}: {cap(str(exc), 120)}") from None


# ---- field checkers --------------------------------------------------------------------------
# Each takes a decoded msgpack value and returns it (possibly normalised) or raises _Bad.


class _Bad(Exception):
    pass


def _type_name(value: Any) -> str:
    return type(value).__name__


def _exact(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not kind:  # exact: True is not an int, an int is not a bool
            raise _Bad(f"expected {kind.__name__}, got {_type_name(value)}")
        return value
    return check


_str = _exact(str)
_bytes = _exact(bytes)
_bool = _exact(bool)
_int = _exact(int)


def _float(value: Any) -> float:
    if type(value) not in (int, float):
        raise _Bad(f"expected float, got {_type_name(value)}")
    if not math.isfinite(value):
        raise _Bad(f"expected a finite number, got {value}")
    return float(value)


def _timestamp(value: Any) -> float:
    value = _float(value)
    if not 0 <= value <= MAX_TIMESTAMP:
        raise _Bad(f"timestamp {value:g} out of range")
    return value


def _anything(value: Any) -> Any:
    return value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)
    return optional


def _list_of(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def list_of(value: Any) -> list:
        if type(value) is not list:
            raise _Bad(f"expected a list, got {_type_name(value)}")
        out = []
        for index, item in enumerate(value):
            try:
                out.append(check(item))
            except _Bad as exc:
                raise _Bad(f"[{index}]: {exc}") from None
        return out
    return list_of


def _dict_of(check: Callable[[Any], Any], key_cap: int = 0, max_items: int = 0):
    def dict_of(value: Any) -> dict:
        if type(value) is not dict:
            raise _Bad(f"expected a map, got {_type_name(value)}")
        if max_items and len(value) > max_items:
            raise _Bad(f"more than {max_items} entries")
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Bad(f"key {_short(key)} is not a string")
            if key_cap and len(key) > key_cap:
                raise _Bad(f"key longer than {key_cap} characters")
            try:
                out[key] = check(item)
            except _Bad as exc:
                raise _Bad(f"[{_short(key)}]: {exc}") from None
        return out
    return dict_of


def _device_name(value: Any) -> str:
    value = _str(value)
    if not models.NAME_RE.fullmatch(value):
        raise _Bad(f"{_short(value)} is not a device name")
    return value


_ANNOTATIONS: dict[str, Callable[[Any], Any]] = {
    "str": _str, "bytes": _bytes, "bool": _bool, "int": _int, "float": _float, "Any": _anything,
    "list[int]": _list_of(_int), "list[str]": _list_of(_str),
    "tuple[str, ...]": _list_of(_str),  # msgpack carries tuples as lists
    "dict[str, int]": _dict_of(_int), "dict[str, str]": _dict_of(_str),
    "dict[str, Any]": _dict_of(_anything),
}


def _checker(annotation: Any, where: str) -> Callable[[Any], Any]:
    check = _ANNOTATIONS.get(str(annotation))
    if check is None:  # a new field type: teach this module to check it
        raise TypeError(f"{where}: no decode check for annotation {annotation!r}")
    return check


def _device_checks() -> tuple[tuple[str, bool, Callable[[Any], Any] | None], ...]:
    """(field, required, checker) for each field of the device record, from oscar.models."""
    out = []
    for f in fields(models.Device):
        required = f.default is f.default_factory  # both MISSING: no default
        check = _device_name if f.name == "name" else _ANNOTATIONS.get(str(f.type))
        out.append((f.name, required, check))
    return tuple(out)


_DEVICE_FIELDS = _device_checks()


def _device_record(value: Any) -> dict[str, Any]:
    """A device record as the registry publishes it: every field of oscar.models.Device with
    that field's type, and buildable by models.from_dict."""
    if type(value) is not dict:
        raise _Bad(f"expected a device record (map), got {_type_name(value)}")
    for name, required, check in _DEVICE_FIELDS:
        if name not in value:
            if required:
                raise _Bad(f"device record without {name!r}")
            continue
        if check is not None:
            try:
                check(value[name])
            except _Bad as exc:
                raise _Bad(f"{name}: {exc}") from None
    try:
        models.from_dict(value)
    except Exception as exc:  # whatever the record's own constructor refuses
        raise _Bad(f"not a device record: {cap(str(exc), 80)}") from None
    return value


def device_topic(prefix: str, name: str, suffix: str = "") -> bytes:
    return f"{prefix}.{name}:{suffix}".encode()


@_register
@record
class Command(Message):
    """Listener -> actor: bytes to write to the device (terminator added by the actor).
    ``seq`` is unique per listener connection, for acks and to discard a resent duplicate."""

    KIND: ClassVar[str] = "command"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {"received_at": _timestamp}
    device: str
    data: bytes
    received_at: float  # wall clock, so a command's age is known in any process
    sender: str = ""
    seq: int = 0
    terminate: bool = True

    def topic(self) -> bytes:
        return device_topic("command", self.device)


def _command_rows(value: Any) -> list[Command]:
    """A batch's rows as Commands (``device`` is filled in by the batch). One loop, not
    _list_of(_command_row): this runs for every cue an actor takes."""
    if type(value) is not list:
        raise _Bad(f"expected a list, got {_type_name(value)}")
    out = []
    for index, row in enumerate(value):
        if type(row) is Command:  # already decoded (checks are idempotent)
            out.append(row)
            continue
        if type(row) is not list or len(row) != 5:
            raise _Bad(f"[{index}]: expected a command row "
                       "[data, received_at, sender, seq, terminate]")
        data, received_at, sender, seq, terminate = row
        if type(data) is not bytes or type(sender) is not str or type(seq) is not int \
                or type(terminate) is not bool:
            raise _Bad(f"[{index}]: command row field of the wrong type")
        if type(received_at) is not float or not 0.0 <= received_at <= MAX_TIMESTAMP:
            try:
                received_at = _timestamp(received_at)  # an int, or refused with the reason
            except _Bad as exc:
                raise _Bad(f"[{index}]: {exc}") from None
        out.append(Command("", data, received_at, sender, seq, terminate))
    return out


# A command's row, read in C (the listener builds one per cue).
_COMMAND_ROW = attrgetter("data", "received_at", "sender", "seq", "terminate")


@_register
@record
class CommandBatch(Message):
    """Listener -> actor: the commands for one device from one listener loop turn, oldest
    first, in one ZeroMQ message instead of one per cue. Each travels as a row
    ``[data, received_at, sender, seq, terminate]`` with Command's meaning."""

    KIND: ClassVar[str] = "commands"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {"commands": _command_rows}
    device: str
    commands: list[Command]

    def __post_init__(self) -> None:
        for command in self.commands:
            command.device = self.device

    def topic(self) -> bytes:
        return self.topic_of(self.device)

    @staticmethod
    def topic_of(device: str) -> bytes:
        return device_topic("commands", device)

    def encode(self) -> list[bytes]:
        return self.frames(self.topic(), self.device, self.commands)

    @classmethod
    def frames(cls, topic: bytes, device: str, commands: list[Command]) -> list[bytes]:
        """The encoded batch straight from its parts: the listener's hot path sends one per
        device per loop turn and need not build the message object (topic: ``topic_of``)."""
        body = {"k": cls.KIND, "v": cls.VERSION, "device": device,
                "commands": list(map(_COMMAND_ROW, commands))}
        return [topic, _PACK(body)]


@_register
@record
class Ack(Message):
    """Actor -> listener: these commands are done with (written to the device, or dropped and
    reported). Until then the listener keeps them, to send again if the connection breaks."""

    KIND: ClassVar[str] = "ack"
    device: str
    seqs: list[int]

    def topic(self) -> bytes:
        return device_topic("ack", self.device)


@_register
@record
class DeviceConfig(Message):
    """Registry PUB: one device's desired state changed (``device`` is None when removed)."""

    KIND: ClassVar[str] = "config.device"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "name": _device_name, "device": _optional(_device_record)}
    name: str
    device: dict[str, Any] | None
    revision: int
    store_id: str = ""  # which store the revision counts in (see RevisionGate)

    def topic(self) -> bytes:
        return device_topic("config.device", self.name)


@_register
@record
class ConfigSnapshot(Message):
    """Registry PUB, when the whole desired state changed (start-up, import, a restored
    store): all devices. Between changes a ConfigBeacon says which revision is the latest."""

    KIND: ClassVar[str] = "config.snapshot"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {"devices": _list_of(_device_record)}
    devices: list[dict[str, Any]]
    revision: int
    store_id: str = ""

    def topic(self) -> bytes:
        return b"config.snapshot:"


@_register
@record
class ConfigBeacon(Message):
    """Registry PUB, every few seconds: which desired state is the latest. A follower that has
    an older one reads the desired-state file (written before anything is published), so a
    late joiner catches up without the whole snapshot going to every process every time."""

    KIND: ClassVar[str] = "config.beacon"
    revision: int
    store_id: str = ""
    # When this registry run began (0: not said): an actor sends a new run its full status
    # before any ActorAlive, since a restarted registry has no status to keep fresh.
    registry_run: float = 0.0

    def topic(self) -> bytes:
        return b"config.beacon:"


@_register
@record
class Event(Message):
    """Something that happened, for the activity log: actor or listener -> registry -> PUB."""

    KIND: ClassVar[str] = "event"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {"at": _timestamp}
    CAPS: ClassVar[dict[str, int]] = dict.fromkeys(
        ("source", "event", "detail", "device", "sender"), TEXT_CAP)
    source: str  # "device" or "listener"
    event: str  # state, sent, dropped, reply, error, rejected
    detail: str
    device: str = ""
    sender: str = ""
    at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self._cap_texts()

    def topic(self) -> bytes:
        if self.device:
            return device_topic("event.device", self.device, self.event)
        return f"event.{self.source}:{self.event}".encode()


@_register
@record
class ActorStatus(Message):
    """Actor -> registry on every change and as a heartbeat; registry re-publishes it."""

    KIND: ClassVar[str] = "status.device"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = dict.fromkeys(
        ("since", "last_error_at", "last_command_at", "last_reply_at", "next_retry_at", "at"),
        _timestamp)
    CAPS: ClassVar[dict[str, int]] = dict.fromkeys(
        ("device", "state", "peer", "last_error", "last_command", "last_reply"), TEXT_CAP)
    device: str
    state: str
    since: float
    pid: int
    peer: str = ""
    sent: int = 0
    dropped: int = 0
    queued: int = 0
    in_flight: int = 0  # written, not yet acknowledged by the device's TCP stack
    accepted: int = 0  # = sent + dropped + in_flight + queued, per actor run
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

    def __post_init__(self) -> None:
        self._cap_texts()

    def topic(self) -> bytes:
        return device_topic("status.device", self.device)


@_register
@record
class ActorAlive(Message):
    """Actor -> registry: a heartbeat while nothing changed since its last ActorStatus to this
    registry run. The registry keeps that status, takes ``at`` as its age and re-publishes it
    (so subscribers still get a whole status.device); from a run (``pid``) whose status it
    does not have, it is ignored."""

    KIND: ClassVar[str] = "status.alive"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {"device": _device_name, "at": _timestamp}
    device: str
    pid: int
    at: float = field(default_factory=time.time)

    def topic(self) -> bytes:
        return device_topic("status.alive", self.device)


@_register
@record
class ListenerStatus(Message):
    """Listener -> registry heartbeat with its counters."""

    KIND: ClassVar[str] = "status.listener"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "counters": _dict_of(_int, key_cap=COUNTER_NAME_CAP, max_items=MAX_COUNTERS),
        "at": _timestamp}
    pid: int
    udp_port: int
    tcp_port: int
    counters: dict[str, int]
    at: float = field(default_factory=time.time)

    def topic(self) -> bytes:
        return b"status.listener:"


def _feedback_target_list(value: Any) -> list[str]:
    """FeedbackTargets.targets: at most MAX_TARGETS texts, each a valid udp:// or tcp:// target."""
    if type(value) is not list:
        raise _Bad(f"expected a list, got {_type_name(value)}")
    if len(value) > feedback_targets.MAX_TARGETS:
        raise _Bad(f"more than {feedback_targets.MAX_TARGETS} targets")
    for index, item in enumerate(value):
        if type(item) is not str:
            raise _Bad(f"[{index}]: expected str, got {_type_name(item)}")
        try:
            feedback_targets.parse_target(item)
        except ValueError as exc:
            raise _Bad(f"[{index}]: {cap(str(exc), 120)}") from None
    return value


@_register
@record
class FeedbackTargets(Message):
    """Registry PUB, on change and with every periodic snapshot: where the listener sends
    feedback (device replies, states, errors as OSC). See oscar.feedback_targets."""

    KIND: ClassVar[str] = "config.feedback"
    CHECKS: ClassVar[dict[str, Callable[[Any], Any]]] = {"targets": _feedback_target_list}
    targets: list[str]

    def topic(self) -> bytes:
        return b"config.feedback:"


@_register
@record
class Request(Message):
    """CLI or web -> registry control socket."""

    KIND: ClassVar[str] = "request"
    op: str
    args: dict[str, Any] = field(default_factory=dict)


@_register
@record
class Reply(Message):
    """Registry -> CLI or web. ``code`` is empty on success; ``fields`` carries per-field errors."""

    KIND: ClassVar[str] = "reply"
    CAPS: ClassVar[dict[str, int]] = {"code": 64, "error": ERROR_CAP}
    ok: bool
    result: Any = None
    code: str = ""
    error: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._cap_texts()
        # Per-field messages may quote what was typed: keep each one short.
        if any(isinstance(m, str) and len(m) > TEXT_CAP for m in self.fields.values()):
            self.fields = {name: cap(m) if isinstance(m, str) else m
                           for name, m in self.fields.items()}
