"""Opening the store at registry start-up without ever starting from a lost one.

The desired-state file (run/desired-state.msgpack) lists the devices the data plane is running.
If it lists any while the store is missing, empty, unreadable, or another store with no
devices, the store was lost, not new: starting with no devices would stop every actor. The
registry refuses instead, with a message naming the file and the exact commands to restore it;
the data plane keeps running from the desired-state file meanwhile. An unreadable store is
refused in every case and never written.

A store restored from a backup (or created anew) may hold a revision lower than the one the
data plane has seen; its revision is moved above the file's so followers take its changes.
"""

from __future__ import annotations

import logging
import shlex
import sqlite3
from pathlib import Path

from oscar import backups, desired_state
from oscar.settings import Settings
from oscar.store import EmptyStore, Store

log = logging.getLogger(__name__)


class StoreRefused(RuntimeError):
    """The registry must not start on this store; str() tells the operator what to do."""


def open_store(settings: Settings) -> Store:
    db = settings.db_path
    state_path = settings.desired_state_path
    try:
        state = desired_state.load(state_path)
        unreadable_state = ""
    except desired_state.Unreadable as exc:
        state, unreadable_state = None, str(exc)
    listed = sorted(state.devices) if state is not None else []
    lost = bool(listed) or bool(unreadable_state)
    backups.remove_stale_temp(backups.directory(settings.home))

    if not db.exists() or db.stat().st_size == 0:
        if lost:
            what = "is missing" if not db.exists() else "is empty (0 bytes)"
            raise StoreRefused(_lost(settings, f"the device store {db} {what}", listed,
                                     unreadable_state))
        store = _open(settings, create=True, listed=listed, unreadable_state=unreadable_state)
    else:
        store = _open(settings, create=not lost, listed=listed,
                      unreadable_state=unreadable_state)
        if listed and store.count() == 0 and state is not None and state.store_id and (
                state.store_id != store.store_id):
            # Another store, with no devices: put in place of ours by mistake, not restored.
            other = store.store_id
            store.close()
            raise StoreRefused(_lost(settings, f"the device store {db} is another store "
                                     f"(id {other}) with no devices", listed, ""))
    if state is not None and state.revision >= store.revision and (
            state.revision > store.revision or state.store_id != store.store_id):
        # Followers have seen state.revision: count on from above it, never below.
        store.raise_revision(state.revision + 1)
        log.warning("store %s (id %s) was behind the data plane's revision %d (store %s): "
                    "its revision now starts at %d", db, store.store_id, state.revision,
                    state.store_id or "?", store.revision)
    return store


def _open(settings: Settings, create: bool, listed: list[str], unreadable_state: str) -> Store:
    db = settings.db_path
    try:
        return Store(db, create=create)
    except EmptyStore:
        raise StoreRefused(_lost(settings, f"the device store {db} holds no Oscar data",
                                 listed, unreadable_state)) from None
    except sqlite3.DatabaseError as exc:
        raise StoreRefused(_unreadable(settings, str(exc)[:200])) from None


def _restore_steps(settings: Settings, keep_aside: Path | None) -> list[str]:
    db = settings.db_path
    q = shlex.quote
    steps = []
    newest = backups.newest(backups.directory(settings.home))
    if newest is not None:
        aside = (f"mv {q(str(keep_aside))} {q(str(keep_aside))}.damaged && "
                 if keep_aside is not None else "")
        steps.append(
            f"restore the newest daily backup ({newest.name}; keeps every device running):\n"
            f"    {aside}rm -f {q(str(db))}-wal {q(str(db))}-shm && "
            f"cp {q(str(newest))} {q(str(db))}\n"
            f"  (other days: ls {q(str(newest.parent))})")
    else:
        steps.append(f"no daily backup found in {backups.directory(settings.home)}")
    state = settings.desired_state_path
    aside = f"mv {q(str(keep_aside))} {q(str(keep_aside))}.damaged && " if keep_aside else ""
    steps.append(
        "or import an export (`oscar export` output): start with no devices, then import;\n"
        "  every device's actor stops until the import is done:\n"
        f"    {aside}mv {q(str(state))} {q(str(state))}.old\n"
        "    oscar import FILE   (once the registry answers)")
    return steps


def _retry_hint() -> str:
    return ("Then start the registry: `oscar ctl start oscar-registry` (while `oscar ctl status` "
            "shows it in BACKOFF, supervisord retries it by itself).")


def _lost(settings: Settings, problem: str, listed: list[str], unreadable_state: str) -> str:
    if unreadable_state:
        known = f"the desired-state file is unreadable ({unreadable_state})"
    else:
        shown = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10
                                          else "")
        known = (f"but {settings.desired_state_path} says the data plane is running "
                 f"{len(listed)} device(s): {shown}")
    lines = [f"refusing to start: {problem}, {known}.",
             "Starting with no devices would stop all of them. To restore:"]
    lines += [f"- {step}" for step in _restore_steps(settings, None)]
    lines.append(_retry_hint())
    return "\n".join(lines)


def _unreadable(settings: Settings, reason: str) -> str:
    db = settings.db_path
    lines = [f"refusing to start: the device store {db} cannot be read ({reason}). "
             "It is left untouched. To restore:"]
    lines += [f"- {step}" for step in _restore_steps(settings, db)]
    lines.append(_retry_hint())
    return "\n".join(lines)
