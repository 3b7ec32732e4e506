"""The registry's control API: one handler per operation, typed errors turned into coded replies.

Every change goes store -> desired-state file -> PUB -> supervisord programs, in that order, so
a process that starts at any point finds a state at least as new as the one it was told about.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from oscar import __version__, desired_state, feedback_config
from oscar.errors import CodedError
from oscar.history import History
from oscar.messages import (
    ConfigBeacon,
    ConfigSnapshot,
    DeviceConfig,
    Event,
    FeedbackTargets,
    Message,
    Reply,
    Request,
)
from oscar.models import Device, ValidationError, validate
from oscar.reconciler import Reconciler
from oscar.settings import Settings
from oscar.status_table import StatusTable
from oscar.store import NotFound, Store
from oscar.supervisor_client import Programs, SupervisorError

log = logging.getLogger(__name__)
EXPORT_FORMAT = "oscar-devices"
EXPORT_VERSION = 2  # 2: the dialect fields of issue 8, "secrets"; version 1 files still import


class RequestError(CodedError):
    """A request the registry refuses, with the code sent back in the reply."""


class RegistryService:
    def __init__(self, settings: Settings, store: Store, publish: Callable[[Message], None],
                 table: StatusTable, programs: Programs, reconciler: Reconciler,
                 history: History | None = None):
        self.settings = settings
        self.store = store
        self.publish = publish
        self.table = table
        self.programs = programs
        self.reconciler = reconciler
        self.history = history
        self.feedback: list[str] = []  # the feedback targets (oscar/feedback_config.py)
        self.feedback_source = feedback_config.FROM_SETTING
        self.started_at = time.time()
        self.counters: dict[str, int] = {}  # the control and events sockets' (bad_messages)
        self._snapshot: tuple[tuple[int, str], ConfigSnapshot] | None = None
        self._published = (-1, "")  # (revision, store id) last written and published

    # ---- boundary ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        handler = getattr(self, f"op_{request.op}", None)
        if handler is None:
            return Reply(ok=False, code="bad_request", error=f"unknown operation {request.op!r}")
        try:
            return Reply(ok=True, result=handler(**request.args))
        except ValidationError as exc:
            return Reply(ok=False, code="invalid", error=str(exc), fields=exc.errors)
        except NotFound as exc:
            return Reply(ok=False, code="not_found", error=str(exc))
        except RequestError as exc:
            return Reply(ok=False, code=exc.code, error=str(exc), fields=exc.fields)
        except SupervisorError as exc:
            return Reply(ok=False, code="supervisor", error=str(exc))
        except TypeError as exc:  # wrong or missing arguments for the operation
            return Reply(ok=False, code="bad_request", error=f"{request.op}: {exc}")
        except Exception as exc:  # a bug must cost one reply, not the registry
            log.exception("operation %s failed", request.op)
            return Reply(ok=False, code="internal", error=f"{request.op} failed: {exc}")

    # ---- desired state ----------------------------------------------------------------------

    def beacon(self) -> ConfigBeacon:
        """Which desired state is the latest written and published (repeated every 4.9 s in
        place of the whole snapshot: followers behind it read the desired-state file)."""
        return ConfigBeacon(*self._published, registry_run=self.started_at)

    def snapshot(self) -> ConfigSnapshot:
        """The whole desired state; built again only when the store's revision moved."""
        key = (self.store.revision, self.store.store_id)
        if self._snapshot is None or self._snapshot[0] != key:
            self._snapshot = key, ConfigSnapshot([d.to_dict() for d in self.store.list()], *key)
        return self._snapshot[1]

    def load_feedback(self) -> None:
        """At start-up: the stored feedback targets (seeded from the setting)."""
        self.feedback, self.feedback_source = feedback_config.load(self.store,
                                                                  self.settings.feedback)
        log.info("feedback targets (%s): %s", self.feedback_source,
                 ", ".join(self.feedback) or "none")

    def feedback_message(self) -> FeedbackTargets:
        return FeedbackTargets(list(self.feedback))

    def note(self, event: str, detail: str, device: str = "") -> None:
        """A change made through the registry, for the events history (not published)."""
        if self.history is not None:
            self.history.append(Event("registry", event, detail, device=device))

    def sync(self) -> None:
        """Write the desired-state file, publish a snapshot and reconcile programs."""
        devices = self.store.list()
        revision, store_id = self.store.revision, self.store.store_id
        desired_state.write(self.settings.desired_state_path, devices, revision, store_id)
        self._published = (revision, store_id)
        self.publish(self.snapshot())
        self.reconciler.want([d.name for d in devices if d.enabled])

    def _changed(self, name: str, device: Device | None) -> None:
        devices = self.store.list()
        revision, store_id = self.store.revision, self.store.store_id
        desired_state.write(self.settings.desired_state_path, devices, revision, store_id)
        self._published = (revision, store_id)
        self.publish(DeviceConfig(name, device.to_dict() if device else None, revision,
                                  store_id))
        self.reconciler.want([d.name for d in devices if d.enabled])
        if device is None:
            self.table.forget(name)

    # ---- operations -------------------------------------------------------------------------

    def op_ping(self) -> dict[str, Any]:
        return {"version": __version__, "pid": os.getpid()}

    # Replies to operators carry public dicts (no password, password_set instead); only the
    # private wire to actors (ConfigSnapshot, DeviceConfig, desired-state file) has it.

    def op_list(self) -> list[dict[str, Any]]:
        return [d.public_dict() for d in self.store.list()]

    def op_get(self, name: str) -> dict[str, Any]:
        return self.store.get(name).public_dict()

    def op_add(self, device: dict[str, Any]) -> dict[str, Any]:
        added = self.store.add(device)
        log.info("device added: %s", added)
        self.note("config", f"added ({added.host}:{added.port})", added.name)
        self._changed(added.name, added)
        return added.public_dict()

    def op_update(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        updated = self.store.update(name, changes)
        log.info("device updated: %s", updated)
        self.note("config", "changed: " + ", ".join(sorted(str(k) for k in changes)), name)
        self._changed(name, updated)
        return updated.public_dict()

    def op_enable(self, name: str) -> dict[str, Any]:
        return self.op_update(name, {"enabled": True})

    def op_disable(self, name: str) -> dict[str, Any]:
        return self.op_update(name, {"enabled": False})

    def op_remove(self, name: str) -> dict[str, Any]:
        removed = self.store.remove(name)
        log.info("device removed: %s", name)
        self.note("config", "removed", name)
        self._changed(name, None)
        return removed.public_dict()

    def op_status(self, name: str = "") -> dict[str, Any]:
        devices = [self.store.get(name)] if name else self.store.list()
        return {
            "devices": [self.table.device_row(d) for d in devices],
            "listener": self.table.listener_row(),
            "supervisor_error": self.table.supervisor_error,
            "registry": {"counters": dict(self.counters)},
            "at": time.time(),
        }

    def op_reset(self, name: str) -> dict[str, Any]:
        """Zero a device's totals (sent, dropped, replies...); returns its status row."""
        device = self.store.get(name)
        self.table.reset(name)
        log.info("totals of %s reset", name)
        return self.table.device_row(device)

    def op_restart(self, name: str) -> dict[str, Any]:
        device = self.store.get(name)
        if not device.enabled:
            raise RequestError("disabled", f"device {name!r} is disabled; enable it first")
        if self.table.supervisor_error:
            raise RequestError("supervisor", self.table.supervisor_error)
        # Done by the reconciler thread, so this socket keeps answering while the actor stops.
        self.reconciler.restart(name)
        return {"restarted": name}

    def op_activity(self, device: str = "", kind: str = "", since: float = 0, until: float = 0,
                    limit: int = 200) -> list[dict[str, Any]]:
        """Events from the history, newest first: every filter given must match (``since`` and
        ``until`` are Unix times, inclusive, 0 = open)."""
        problems = {}
        for field, value in (("device", device), ("kind", kind)):
            if not isinstance(value, str) or len(value) > 256:
                problems[field] = "must be a text of at most 256 characters"
        for field, value in (("since", since), ("until", until)):
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not 0 <= value < 1e11):
                problems[field] = "must be a Unix time in seconds (0 = no limit)"
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            problems["limit"] = "must be a whole number from 1"
        if not problems and since and until and since > until:
            problems["until"] = "is before since"
        if problems:
            field, message = next(iter(problems.items()))
            raise RequestError("invalid", f"activity: {field} {message}", problems)
        if self.history is None:
            return []
        return self.history.query(device, kind, float(since), float(until), limit)

    def op_feedback_get(self) -> dict[str, Any]:
        return {"targets": list(self.feedback), "source": self.feedback_source}

    def op_feedback_set(self, targets: Any) -> dict[str, Any]:
        try:
            clean = feedback_config.save(self.store, targets)
        except feedback_config.TargetsInvalid as exc:
            raise RequestError("invalid", str(exc), exc.fields) from None
        changed = clean != self.feedback
        self.feedback, self.feedback_source = clean, feedback_config.FROM_STORE
        log.info("feedback targets set: %s", ", ".join(clean) or "none")
        if changed:
            self.publish(self.feedback_message())
            self.note("config", "feedback targets: " + (", ".join(clean) or "none"))
        return self.op_feedback_get()

    def op_system(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "registry_pid": os.getpid(),
            "registry_started_at": self.started_at,
            "home": str(self.settings.home),
            "osc": {"host": self.settings.osc_host, "udp_port": self.settings.osc_udp_port,
                    "tcp_port": self.settings.osc_tcp_port},
            "web": {"host": self.settings.web_host, "port": self.settings.web_port},
            "endpoints": self.settings.endpoints(),
            "processes": self.table.process_rows(),
            "supervisor_error": self.table.supervisor_error,
            "listener": self.table.listener_row(),
            "schema_version": self.store.schema_version,
            "revision": self.store.revision,
            "store_id": self.store.store_id,
            "registry_counters": dict(self.counters),
            "history": self.history.stats() if self.history is not None else None,
            "feedback": self.op_feedback_get(),
        }

    def op_export(self, with_secrets: bool = False) -> dict[str, Any]:
        """Every device; passwords only ``with_secrets`` (else each entry has password_set)."""
        devices = self.store.list()
        entries = [d.to_dict() if with_secrets else d.public_dict() for d in devices]
        if with_secrets:
            log.info("export with secrets (%d devices)", len(devices))
        return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "oscar": __version__,
                "secrets": bool(with_secrets), "devices": entries}

    def op_import(self, data: Any, dry_run: bool = False) -> dict[str, Any]:
        devices = parse_import(data)
        if dry_run:
            return {"devices": len(devices), "applied": False}
        self.store.replace_all(devices)
        log.info("imported %d devices", len(devices))
        self.note("config", f"imported {len(devices)} devices (every device replaced)")
        for name in list(self.table.actors):
            if name not in {d.name for d in devices}:
                self.table.forget(name)
        self.sync()
        return {"devices": len(devices), "applied": True}


def parse_import(data: Any) -> list[Device]:
    """Validate a whole export file before anything changes; errors name the entry and field."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise RequestError("invalid", f"not an Oscar device export (expected \"format\": "
                                      f"\"{EXPORT_FORMAT}\")")
    entries = data.get("devices")
    if not isinstance(entries, list):
        raise RequestError("invalid", "\"devices\" must be a list")
    errors: dict[str, str] = {}
    devices: list[Device] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        label = f"devices[{index}]"
        if not isinstance(entry, dict):
            errors[label] = "must be an object"
            continue
        if isinstance(entry.get("name"), str):
            label = f"devices[{index}] ({entry['name']})"
        try:
            device = validate(entry)
        except ValidationError as exc:
            for field, message in exc.errors.items():
                errors[f"{label}.{field}"] = message
            continue
        if device.name in seen:
            errors[f"{label}.name"] = f"duplicate name {device.name!r}"
        seen.add(device.name)
        devices.append(device)
    if errors:
        first = next(iter(errors.items()))
        raise RequestError("invalid", f"{len(errors)} problem(s), first: {first[0]}: {first[1]}",
                           errors)
    return devices
