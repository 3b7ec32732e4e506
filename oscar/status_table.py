"""The registry's live view: desired state + what actors, the listener and supervisord report."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict
from typing import Any

from oscar import states
from oscar.messages import ActorStatus, Event, ListenerStatus
from oscar.models import Device
from oscar.supervisor_client import program_name

ACTIVITY_LIMIT = 2000  # recent events kept in memory; older ones are in the log files
RUNNING = "RUNNING"
# A loop that has missed three heartbeats (actors and the listener report every 2 s) is shown as
# stale while supervisord still says RUNNING: the process is there but not turning.
STALE_AFTER = 6.0
LISTENER_PROGRAM = "oscar-listener"


class StatusTable:
    def __init__(self) -> None:
        self.actors: dict[str, ActorStatus] = {}
        self.listener: ListenerStatus | None = None
        self.processes: dict[str, dict[str, Any]] = {}  # supervisord process info by name
        self.processes_at = 0.0
        self.supervisor_error = ""
        self.activity: deque[Event] = deque(maxlen=ACTIVITY_LIMIT)
        self._event_seq = 0

    def record_status(self, status: ActorStatus) -> None:
        self.actors[status.device] = status

    def record_event(self, event: Event) -> int:
        self._event_seq += 1
        self.activity.append(event)
        return self._event_seq

    def forget(self, device: str) -> None:
        self.actors.pop(device, None)

    def device_row(self, device: Device) -> dict[str, Any]:
        row: dict[str, Any] = {"name": device.name, "config": device.to_dict()}
        process = self.processes.get(program_name(device.name))
        row["process"] = process["statename"] if process else "ABSENT"
        row["process_pid"] = process["pid"] if process else 0
        status = self.actors.get(device.name)
        if status is not None and process and process["pid"] and status.pid != process["pid"]:
            # Reports and process info arrive on their own schedules: the newer one wins.
            if status.at < self.processes_at:
                status = None  # the last words of an actor run that has since ended
        base = asdict(status) if status else {}
        base.pop("device", None)
        row.update(base)
        if not device.enabled:
            row["state"] = states.DISABLED
        elif status is None or (process and process["statename"] != RUNNING
                                and status.at < self.processes_at):
            row["state"] = states.NOT_RUNNING
        row.setdefault("since", 0.0)
        for key in ("sent", "dropped", "queued", "in_flight", "accepted", "replies", "connects"):
            row.setdefault(key, 0)
        for key in ("last_error", "last_command", "last_reply", "peer"):
            row.setdefault(key, "")
        for key in ("last_error_at", "last_command_at", "last_reply_at", "next_retry_at"):
            row.setdefault(key, 0.0)
        # None: no report from this actor (yet). Age of the newest report, whatever it says.
        row["heartbeat_age"] = max(0.0, time.time() - status.at) if status else None
        row["stale"] = bool(device.enabled and status is not None and self._running(process)
                            and row["heartbeat_age"] > STALE_AFTER)
        return row

    def _running(self, process: dict[str, Any] | None) -> bool:
        """RUNNING, or unknown (supervisord not reachable: the heartbeat is all we have)."""
        if process is None:
            return not self.processes or bool(self.supervisor_error)
        return process["statename"] == RUNNING

    def recent(self, device: str = "", limit: int = 200) -> list[dict[str, Any]]:
        out = []
        for event in reversed(self.activity):
            if device and event.device != device:
                continue
            out.append(asdict(event))
            if len(out) >= limit:
                break
        return out

    def listener_row(self) -> dict[str, Any] | None:
        if self.listener is None:
            return None
        row = asdict(self.listener)
        row["age"] = max(0.0, time.time() - self.listener.at)
        row["stale"] = (row["age"] > STALE_AFTER
                        and self._running(self.processes.get(LISTENER_PROGRAM)))
        return row
