"""The registry's last published desired state, kept in a file, and the rule for which config
message is newer than what a follower has.

The data plane (listener and actors) reads the file at start-up, so a process that restarts
while the registry is down still knows its devices; afterwards it follows the registry's PUB
socket. The registry reads it at start-up too: it lists the devices the data plane is running,
so a store that has gone missing is noticed (oscar/store_guard.py), and its revision keeps a
replaced store's revisions from going backwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgpack

from oscar.models import Device, from_dict
from oscar.records import record


class Unreadable(ValueError):
    """The file exists but is not a desired-state file."""


@record(frozen=True)
class State:
    devices: dict[str, Device]
    revision: int
    store_id: str = ""  # empty in files written before store ids existed


def write(path: Path, devices: list[Device], revision: int, store_id: str = "") -> None:
    body = msgpack.packb({"revision": revision, "store_id": store_id,
                          "devices": [d.to_dict() for d in devices]})
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def load(path: Path, only: str | None = None) -> State | None:
    """The file's state; None when there is no file; Unreadable when it is not one. ``only``:
    that device's record alone is built (an actor needs no other: with 100 devices, building
    them all cost every actor's start about 2 ms)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"{path}: {exc.strerror}") from None
    try:
        data = msgpack.unpackb(raw)
        devices = {d["name"]: from_dict(d) for d in data["devices"]
                   if only is None or d["name"] == only}
        revision = data["revision"]
        store_id = data.get("store_id", "")
        if type(revision) is not int or not isinstance(store_id, str):
            raise TypeError("revision or store_id of the wrong type")
    except Exception as exc:  # whatever a damaged file makes msgpack or from_dict raise
        raise Unreadable(f"{path} is not a desired-state file ({type(exc).__name__})") from None
    return State(devices, revision, store_id)


def read(path: Path, only: str | None = None) -> tuple[dict[str, Device], int] | None:
    """Devices by name and the revision, or None when no registry has written it yet."""
    try:
        state = load(path, only)
    except Unreadable:  # a corrupt file is as good as none: wait for the registry
        return None
    return None if state is None else (state.devices, state.revision)


class RevisionGate:
    """Whether a config message is newer than what a follower has applied.

    Revisions count up within one store. A store that was replaced (restored from a backup,
    recreated) has another ``store_id``: its revisions may be lower, and only a whole snapshot
    from it replaces what the follower has (a single-device change from it would be applied on
    top of the old store's devices). An empty store id (a file or registry from before store
    ids) is compared by revision only.
    """

    def __init__(self, revision: int = -1, store_id: str = ""):
        self.revision = revision
        self.store_id = store_id

    def behind(self, store_id: str, revision: int) -> bool:
        """Whether a whole snapshot of (store_id, revision) would be applied (nothing moves)."""
        if store_id and self.store_id and store_id != self.store_id:
            return True
        return revision > self.revision

    def accepts(self, store_id: str, revision: int, whole: bool = False) -> bool:
        """True when the message should be applied; the gate then moves to it. ``whole``: the
        message carries every device (a snapshot), which is not worth applying twice."""
        if store_id and self.store_id and store_id != self.store_id:
            accepted = whole
        elif whole:
            accepted = revision > self.revision
        else:
            accepted = revision >= self.revision
        if accepted:
            self.revision = revision
            self.store_id = store_id or self.store_id
        return accepted


def catch_up(gate: RevisionGate, path: Path, store_id: str, revision: int,
             only: str | None = None) -> State | None:
    """When a beacon says (store_id, revision) is the latest and the follower behind ``gate``
    has older: the state in the file, to apply whole (the gate moves to it). None when the
    follower is up to date or the file is missing, unreadable or not newer."""
    if not gate.behind(store_id, revision):
        return None
    try:
        state = load(path, only)
    except Unreadable:
        return None
    if state is None or not gate.accepts(state.store_id, state.revision, whole=True):
        return None
    return state
