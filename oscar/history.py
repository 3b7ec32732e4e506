"""The events history: every event the registry receives, in its own SQLite file.

``$OSCAR_HOME/history.sqlite`` (WAL) is written by the registry only, by one writer thread:
the registry loop hands each event to ``append`` (a list append under a lock, never a disk
write) and the thread writes what has gathered every FLUSH_EVERY seconds, or as soon as
BATCH_ROWS are waiting, in one transaction. Waiting rows are bounded (MAX_PENDING): beyond that
new events are dropped and counted (``counters["dropped"]``), never queued without bound.

The same thread prunes in the background: rows the registry received more than ``max_days``
ago, and the oldest rows beyond ``max_rows``, in chunks so a big prune never holds up writes.

``query`` reads the file and the rows still waiting to be written, so an event is visible the
moment the registry has it. What is committed survives any end of the registry, ``kill -9``
included; at most the last FLUSH_EVERY seconds of events are lost with the process.

Times: ``at`` is when the event happened (the sender's clock), shown and filtered on;
``logged`` is when the registry received it, used for pruning (a sender's clock cannot keep rows
longer or drop them early).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    logged REAL NOT NULL,
    source TEXT NOT NULL,
    device TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL,
    sender TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_device_at ON events (device, at);
CREATE INDEX IF NOT EXISTS events_event_at ON events (event, at);
CREATE INDEX IF NOT EXISTS events_logged ON events (logged)
"""
COLUMNS = ("at", "source", "device", "event", "detail", "sender")
FLUSH_EVERY = 0.5  # seconds between writes
BATCH_ROWS = 2000  # write at once when this many wait
MAX_PENDING = 100_000  # rows waiting to be written; beyond, events are dropped and counted
PRUNE_EVERY = 60.0  # seconds between prunes
PRUNE_CHUNK = 20_000  # rows deleted per transaction
MAX_LIMIT = 20_000  # rows one query returns at most
# The kinds of event the registry records (filters accept any text; these are offered).
EVENT_KINDS = ("received", "sent", "reply", "replies_hidden", "dropped", "state", "error",
               "rejected", "config")
DEFAULT_DAYS = 7.0
DEFAULT_ROWS = 1_000_000


@dataclass(frozen=True)
class Row:
    id: int  # numbered by the registry in arrival order: the file's primary key
    at: float
    logged: float
    source: str
    device: str
    event: str
    detail: str
    sender: str

    def public(self) -> dict[str, Any]:
        return {"at": self.at, "source": self.source, "device": self.device,
                "event": self.event, "detail": self.detail, "sender": self.sender}


def row_of(number: int, event: Any, logged: float) -> Row:
    """A history row from an ``oscar.messages.Event`` (text fields are already capped)."""
    return Row(number, float(event.at), logged, event.source, event.device, event.event,
               event.detail, event.sender)


@dataclass(frozen=True)
class Filter:
    device: str = ""
    kind: str = ""
    since: float = 0.0  # 0 = no lower bound
    until: float = 0.0  # 0 = no upper bound
    limit: int = 200

    def matches(self, row: Row) -> bool:
        return ((not self.device or row.device == self.device)
                and (not self.kind or row.event == self.kind)
                and (not self.since or row.at >= self.since)
                and (not self.until or row.at <= self.until))

    def sql(self) -> tuple[str, list[Any]]:
        where, values = [], []
        for column, value in (("device", self.device), ("event", self.kind)):
            if value:
                where.append(f"{column} = ?")
                values.append(value)
        if self.since:
            where.append("at >= ?")
            values.append(self.since)
        if self.until:
            where.append("at <= ?")
            values.append(self.until)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        return clause, values


class HistoryError(RuntimeError):
    """The history file cannot be used (damaged, or from a newer Oscar)."""


class History:
    """See the module docstring. ``start()`` runs the writer thread; without it (unit tests)
    call ``flush()`` and ``prune()`` directly."""

    def __init__(self, path: Path, max_days: float = DEFAULT_DAYS, max_rows: int = DEFAULT_ROWS,
                 clock=time.time, max_pending: int = MAX_PENDING, batch_rows: int = BATCH_ROWS,
                 flush_every: float = FLUSH_EVERY, prune_every: float = PRUNE_EVERY,
                 prune_chunk: int = PRUNE_CHUNK):
        self.path = path
        self.max_days = max_days
        self.max_rows = max_rows
        self.clock = clock
        self.max_pending = max_pending
        self.batch_rows = batch_rows
        self.flush_every = flush_every
        self.prune_every = prune_every
        self.prune_chunk = prune_chunk
        self.counters = {"written": 0, "dropped": 0, "pruned": 0, "write_errors": 0,
                         "flushes": 0}
        self._lock = threading.Lock()  # guards _pending and _writing
        self._pending: list[Row] = []
        self._writing: list[Row] = []  # taken by the writer, not yet committed
        self._write_lock = threading.Lock()  # one writer at a time (thread or a direct flush)
        self._wake = threading.Event()
        self._arrived = threading.Event()  # the first event of a batch: an idle writer wakes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_drop_log = 0.0
        self._writer = self._connect(create=True)
        self._reader = self._connect(create=False)
        top = self._writer.execute("SELECT MAX(id) FROM events").fetchone()[0]
        self._next_id = (top or 0) + 1

    # ---- file -------------------------------------------------------------------------------

    def _connect(self, create: bool) -> sqlite3.Connection:
        if create:
            # Private like the store: events name hosts and show what was sent.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        db = sqlite3.connect(str(self.path), isolation_level=None, timeout=5.0,
                             check_same_thread=False)
        try:
            if create:
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise HistoryError(f"{self.path} has history schema {version}, newer than "
                                       f"this Oscar ({SCHEMA_VERSION})")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives kill -9
                db.execute("PRAGMA journal_size_limit=67108864")
                if version < SCHEMA_VERSION:
                    db.execute("BEGIN IMMEDIATE")
                    for statement in SCHEMA.split(";"):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    db.execute("COMMIT")
            else:
                db.execute("PRAGMA query_only=1")
        except BaseException:
            db.close()
            raise
        return db

    @property
    def schema_version(self) -> int:
        return int(self._reader.execute("PRAGMA user_version").fetchone()[0])

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> History:
        """Open ``path``; a damaged or unreadable file is moved aside (kept, renamed
        ``history.sqlite.broken-TIME``) and a new one started, so the registry always runs."""
        try:
            return cls(path, **kwargs)
        except (sqlite3.DatabaseError, HistoryError) as exc:
            aside = path.with_name(f"{path.name}.broken-{int(time.time())}")
            log.error("events history %s unusable (%s); moved to %s, starting a new one",
                      path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{path}{suffix}")
                if source.exists():
                    os.replace(source, Path(f"{aside}{suffix}"))
            return cls(path, **kwargs)

    # ---- writing ----------------------------------------------------------------------------

    def append(self, event: Any) -> bool:
        """Queue an event (an oscar.messages.Event) for writing; False when dropped."""
        logged = self.clock()
        with self._lock:
            if len(self._pending) + len(self._writing) >= self.max_pending:
                self.counters["dropped"] += 1
                dropped = True
            else:
                self._pending.append(row_of(self._next_id, event, logged))
                self._next_id += 1
                dropped = False
                full = len(self._pending) >= self.batch_rows
                first = len(self._pending) == 1
        if dropped:
            now = time.monotonic()
            if now - self._last_drop_log > 10:
                self._last_drop_log = now
                log.warning("events history: %d events dropped so far (the disk is not keeping "
                            "up)", self.counters["dropped"])
            return False
        if first:
            self._arrived.set()
        if full:
            self._wake.set()
        return True

    def pending(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._writing)

    def flush(self) -> int:
        """Write every waiting row in one transaction; returns how many were written."""
        with self._write_lock:
            with self._lock:
                self._writing, self._pending = self._pending, []
                batch = self._writing
            if not batch:
                return 0
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                self._writer.executemany(
                    "INSERT INTO events (id, at, logged, source, device, event, detail, sender) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(r.id, r.at, r.logged, r.source, r.device, r.event, r.detail, r.sender)
                     for r in batch])
                self._writer.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                self.counters["write_errors"] += 1
                self.counters["dropped"] += len(batch)
                log.error("events history: %d events not written to %s: %s", len(batch),
                          self.path, exc)
                written = 0
            else:
                self.counters["written"] += len(batch)
                self.counters["flushes"] += 1
                written = len(batch)
            with self._lock:
                self._writing = []
            return written

    def _rollback(self) -> None:
        try:
            self._writer.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def prune(self, now: float | None = None) -> int:
        """Delete rows received more than max_days ago and the oldest beyond max_rows, a chunk
        per transaction; returns how many were deleted."""
        now = self.clock() if now is None else now
        cutoff = now - self.max_days * 86400
        deleted = 0
        while True:
            with self._write_lock:
                try:
                    top = self._writer.execute("SELECT MAX(id) FROM events").fetchone()[0]
                    if top is None:
                        break
                    old = self._writer.execute(
                        "SELECT MAX(id) FROM (SELECT id FROM events WHERE logged < ? "
                        "ORDER BY logged LIMIT ?)", (cutoff, self.prune_chunk)).fetchone()[0]
                    bound = max(old or 0, top - self.max_rows)
                    low = self._writer.execute("SELECT MIN(id) FROM events").fetchone()[0]
                    if bound < low:
                        break
                    bound = min(bound, low + self.prune_chunk - 1)
                    self._writer.execute("BEGIN IMMEDIATE")
                    count = self._writer.execute("DELETE FROM events WHERE id <= ?",
                                                 (bound,)).rowcount
                    self._writer.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    log.error("events history: prune failed: %s", exc)
                    break
            deleted += count
            self.counters["pruned"] += count
            if count == 0 or (self._stop.is_set() and self._thread is not None):
                break
        return deleted

    # ---- reading ----------------------------------------------------------------------------

    def query(self, device: str = "", kind: str = "", since: float = 0.0, until: float = 0.0,
              limit: int = 200) -> list[dict[str, Any]]:
        """Events matching every given filter, newest first (by ``at``), at most ``limit``
        (1..MAX_LIMIT). Includes events not yet written to the file."""
        wanted = Filter(device, kind, since, until, max(1, min(int(limit), MAX_LIMIT)))
        with self._lock:
            waiting = [r for r in (*self._writing, *self._pending) if wanted.matches(r)]
        clause, values = wanted.sql()
        rows = self._reader.execute(
            "SELECT id, at, logged, source, device, event, detail, sender FROM events "
            f"{clause}ORDER BY at DESC, id DESC LIMIT ?", (*values, wanted.limit)).fetchall()
        found = [Row(*row) for row in rows]
        if waiting:
            # A row committed meanwhile can be in both: it is the same row (same id).
            seen = {r.id for r in found}
            found = sorted([*found, *(r for r in waiting if r.id not in seen)],
                           key=lambda r: (r.at, r.id), reverse=True)
        return [r.public() for r in found[:wanted.limit]]

    def count(self) -> int:
        return int(self._reader.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        return {"path": str(self.path), "schema_version": SCHEMA_VERSION,
                "max_days": self.max_days, "max_rows": self.max_rows,
                "pending": self.pending(), **self.counters}

    # ---- the writer thread ------------------------------------------------------------------

    def start(self) -> History:
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        next_prune = time.monotonic()  # prune once at start-up
        while not self._stop.is_set():
            if not self.pending():
                # Idle: sleep until an event comes (or a prune is due), not every
                # flush_every; then gather for flush_every as before.
                self._arrived.wait(max(0.0, next_prune - time.monotonic()))
                self._arrived.clear()
            self._wake.wait(self.flush_every)
            self._wake.clear()
            try:
                self.flush()
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + self.prune_every
                    self.prune()
            except Exception:  # a bug must cost a batch, not the history for good
                log.exception("events history writer")

    def close(self) -> None:
        """Stop the writer, write what is waiting, close the file."""
        self._stop.set()
        self._wake.set()
        self._arrived.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
        self._writer.close()
        self._reader.close()
