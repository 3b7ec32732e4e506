"""The registry's last published desired state, kept in a file.

The data plane (listener and actors) reads it at start-up, so a process that restarts while the
registry is down still knows its devices; afterwards it follows the registry's PUB socket.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgpack

from oscar.models import Device, from_dict


def write(path: Path, devices: list[Device], revision: int) -> None:
    body = msgpack.packb({"revision": revision, "devices": [d.to_dict() for d in devices]})
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def read(path: Path) -> tuple[dict[str, Device], int] | None:
    """Devices by name and the revision, or None when no registry has written it yet."""
    try:
        data = msgpack.unpackb(path.read_bytes())
        devices = {d["name"]: from_dict(d) for d in data["devices"]}
        return devices, int(data["revision"])
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt file is as good as none: wait for the registry
        return None
