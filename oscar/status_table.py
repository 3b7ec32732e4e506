"""The registry's live view: desired state + what actors, the listener and supervisord report."""

from __future__ import annotations

import time
from collections import deque
from datetime import timedelta
from typing import Any

from oscar import states
from oscar.actor_status import HEARTBEAT as ACTOR_HEARTBEAT
from oscar.messages import ActorAlive, ActorStatus, ListenerStatus
from oscar.models import Device
from oscar.records import asdict
from oscar.supervisor_client import program_name

RUNNING = "RUNNING"
# The run that reported is still there (STARTING: up for less than startsecs, yet it may well
# be connected already; a report of another run is set aside before this is asked).
ALIVE = (RUNNING, "STARTING")
# A loop that has missed three heartbeats is shown as stale while supervisord still says
# RUNNING: the process is there but not turning. Actors report with the registry's beacon,
# every actor_status.HEARTBEAT (at the latest HEARTBEAT_ALONE after their last report), the
# listener every 2 s (processes/listener.py).
MISSED_HEARTBEATS = 3
STALE_AFTER = MISSED_HEARTBEATS * ACTOR_HEARTBEAT
LISTENER_STALE_AFTER = MISSED_HEARTBEATS * 2.0
LISTENER_PROGRAM = "oscar-listener"
# Counters an actor keeps per run (per process). The registry adds up runs into totals that
# survive actor restarts and re-enables, and registry restarts through oscar/totals_file.py.
# Only `oscar status --reset NAME` zeroes them.
TOTALS = ("accepted", "sent", "dropped", "replies", "reply_bytes", "connects")
UP = "up"
DOWN = "down"  # connecting, logging in, waiting to retry, auth failed, stopped or not running


def _run_counters(status: ActorStatus) -> dict[str, int]:
    return {"pid": status.pid, "queued": status.queued, "in_flight": status.in_flight,
            **{key: getattr(status, key) for key in TOTALS}}


def state_kind(state: str) -> str:
    if state in states.OK:  # ready, or idle by design (on-demand, per-command)
        return UP
    if state == states.DISABLED:
        return states.DISABLED
    return DOWN


class StatusTable:
    def __init__(self) -> None:
        self.actors: dict[str, ActorStatus] = {}
        self.listener: ListenerStatus | None = None
        self.processes: dict[str, dict[str, Any]] = {}  # supervisord process info by name
        self.processes_at = 0.0
        self.supervisor_error = ""
        # device -> counters of ended actor runs (added to the current run's for totals)
        self.bases: dict[str, dict[str, int]] = {}
        self.totals_since: dict[str, float] = {}
        self._ended: dict[str, deque[int]] = {}  # device -> pids of runs already added up
        self._saved_runs: dict[str, dict[str, int]] = {}  # last runs seen by a previous registry
        # device -> (kind, since): the time of the last change of state *kind*, so retries
        # (waiting -> connecting -> waiting) do not move "down since".
        self.kinds: dict[str, tuple[str, float]] = {}

    def record_status(self, status: ActorStatus) -> None:
        name = status.device
        ended = self._ended.setdefault(name, deque(maxlen=8))
        if status.pid in ended:
            return  # a late report of a run already added up
        previous = self.actors.get(name)
        if previous is not None and previous.pid != status.pid:
            self._end_run(name, _run_counters(previous))
            ended.append(previous.pid)
        saved = self._saved_runs.pop(name, None)
        if previous is None and saved is not None and saved["pid"] != status.pid:
            # That run ended while the registry was down: add up its last known counters.
            self._end_run(name, saved)
            ended.append(saved["pid"])
        self.actors[name] = status
        self.totals_since.setdefault(name, status.at)
        self._track_kind(name, status.state, status.since)

    def record_alive(self, alive: ActorAlive) -> ActorStatus | None:
        """A heartbeat with nothing changed: the kept status of that run, as of ``alive.at``;
        None when there is none (another run, or a registry that has not had it yet)."""
        status = self.actors.get(alive.device)
        if status is None or status.pid != alive.pid:
            return None
        status.at = max(status.at, alive.at)
        return status

    def _end_run(self, device: str, last: dict[str, int]) -> None:
        base = self.bases.setdefault(device, dict.fromkeys(TOTALS, 0))
        for key in TOTALS:
            base[key] += last[key]
        # Its queued commands were never acked to the listener, which sends them again to the
        # next run (or expires them itself): they are the next run's to count, not this one's.
        base["accepted"] -= last["queued"]
        # What it had in flight was written but never confirmed by the device: as far as we
        # know it did not arrive, so it counts dropped (accepted = sent + dropped + waiting).
        base["dropped"] += last["in_flight"]

    # ---- totals across registry restarts ----------------------------------------------------

    def totals_state(self) -> dict[str, Any]:
        """What the totals need to survive a registry restart (see oscar/totals_file.py)."""
        state: dict[str, Any] = {}
        for name in set(self.bases) | set(self.actors):
            status = self.actors.get(name)
            state[name] = {"base": dict(self.bases.get(name, {})),
                           "since": self.totals_since.get(name, 0.0),
                           "run": _run_counters(status) if status else None}
        return state

    def load_totals(self, state: dict[str, Any]) -> None:
        """Take back totals_state() of the previous registry run. The actors' current runs go
        on: a report from the same run continues it; from another, the saved run is added up."""
        for name, entry in state.items():
            self.bases[name] = {key: entry["base"].get(key, 0) for key in TOTALS}
            self.totals_since[name] = entry["since"]
            if entry["run"] is not None:
                self._saved_runs[name] = entry["run"]

    def _track_kind(self, name: str, state: str, at: float) -> None:
        kind = state_kind(state)
        known = self.kinds.get(name)
        if known is None or known[0] != kind:
            self.kinds[name] = (kind, at)

    def reset(self, name: str, now: float | None = None) -> None:
        """Totals start again from zero now (commands still waiting stay counted)."""
        status = self.actors.get(name)
        base = dict.fromkeys(TOTALS, 0)
        if status is not None:
            for key in TOTALS:
                base[key] = -getattr(status, key)
            base["accepted"] += status.queued + status.in_flight
        self.bases[name] = base
        self.totals_since[name] = time.time() if now is None else now

    def forget(self, device: str) -> None:
        self.actors.pop(device, None)
        for per_device in (self.bases, self.totals_since, self._ended, self.kinds,
                           self._saved_runs):
            per_device.pop(device, None)

    def device_row(self, device: Device) -> dict[str, Any]:
        row: dict[str, Any] = {"name": device.name, "config": device.public_dict()}
        process = self.processes.get(program_name(device.name))
        row["process"] = process["statename"] if process else "ABSENT"
        row["process_pid"] = process["pid"] if process else 0
        status = self.actors.get(device.name)
        if status is not None and process and process["pid"] and status.pid != process["pid"]:
            # Reports and process info arrive on their own schedules: the newer one wins.
            if status.at < self.processes_at:
                # The last words of an actor run that has since ended: add it up now.
                self._end_run(device.name, _run_counters(status))
                self._ended.setdefault(device.name, deque(maxlen=8)).append(status.pid)
                del self.actors[device.name]
                status = None
        base = asdict(status) if status else {}
        base.pop("device", None)
        row.update(base)
        if not device.enabled:
            row["state"] = states.DISABLED
        elif status is None or (process and process["statename"] not in ALIVE
                                and status.at < self.processes_at):
            row["state"] = states.NOT_RUNNING
        for key in ("sent", "dropped", "queued", "in_flight", "accepted", "replies", "connects",
                    "reply_bytes"):
            row.setdefault(key, 0)
        # This run's counters as the actor reports them; the plain fields become totals.
        row["run"] = {key: row[key] for key in TOTALS}
        base = self.bases.get(device.name)
        if base:
            for key in TOTALS:
                row[key] += base[key]
        row["totals_since"] = self.totals_since.get(device.name, 0.0)
        row["state_since"] = row.get("since", 0.0)  # of this very state (a retry moves it)
        now = time.time()
        if row["state"] != (status.state if status else None):
            # Derived here, not reported: it began at the latest when we learnt of it.
            self._track_kind(device.name, row["state"],
                             min(now, max(self.processes_at, status.at if status else 0.0))
                             or now)
        row["since"] = self.kinds.get(device.name, ("", 0.0))[1]
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

    def process_rows(self, now: float | None = None) -> list[dict[str, Any]]:
        """supervisord's process info by name, with ``now`` and a running program's uptime
        brought up to date (the reconciler reads the info again only when a state changes)."""
        now = int(time.time() if now is None else now)
        rows = []
        for info in sorted(self.processes.values(), key=lambda p: p["name"]):
            row = dict(info, now=now)
            if info["statename"] == RUNNING:  # supervisor's own wording
                uptime = timedelta(seconds=max(0, now - info["start"]))
                row["description"] = f"pid {info['pid']}, uptime {uptime}"
            rows.append(row)
        return rows

    def listener_row(self) -> dict[str, Any] | None:
        if self.listener is None:
            return None
        row = asdict(self.listener)
        row["age"] = max(0.0, time.time() - self.listener.at)
        row["stale"] = (row["age"] > LISTENER_STALE_AFTER
                        and self._running(self.processes.get(LISTENER_PROGRAM)))
        return row
