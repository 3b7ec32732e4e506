"""The device store: SQLite, written only by the registry.

The schema is versioned with ``PRAGMA user_version``; each entry of MIGRATIONS moves it one step
forward inside a transaction, so later fields are added without losing existing devices.
Every change bumps a revision number that subscribers use to notice missed updates; the
revision counts within one store, named by a random ``store_id`` made when the store is created
(both live in the ``meta`` table).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from pathlib import Path

from oscar.models import FIELD_NAMES, Device, ValidationError, from_dict, validate

MIGRATIONS: list[str] = [
    # 1: the seed's device record
    """
    CREATE TABLE devices (
        name TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        enabled INTEGER NOT NULL,
        terminator TEXT NOT NULL,
        encoding TEXT NOT NULL,
        ttl REAL NOT NULL,
        backoff_min REAL NOT NULL,
        backoff_max REAL NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta VALUES ('revision', 0);
    """,
    # 2: device tags (groups), comma-separated: tags follow the name rule, so never hold a comma
    """
    ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '';
    """,
    # 3: the device's dialect (issue 8); the defaults make existing devices behave as before.
    # on_connect is a JSON list of escaped texts; password is a secret (the file is mode 0600).
    """
    ALTER TABLE devices ADD COLUMN profile TEXT NOT NULL DEFAULT 'generic';
    ALTER TABLE devices ADD COLUMN transport TEXT NOT NULL DEFAULT 'tcp';
    ALTER TABLE devices ADD COLUMN connection TEXT NOT NULL DEFAULT 'persistent';
    ALTER TABLE devices ADD COLUMN idle_close REAL NOT NULL DEFAULT 30.0;
    ALTER TABLE devices ADD COLUMN username TEXT NOT NULL DEFAULT '';
    ALTER TABLE devices ADD COLUMN password TEXT NOT NULL DEFAULT '';
    ALTER TABLE devices ADD COLUMN on_connect TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE devices ADD COLUMN keepalive TEXT NOT NULL DEFAULT '';
    ALTER TABLE devices ADD COLUMN keepalive_interval REAL NOT NULL DEFAULT 0.0;
    ALTER TABLE devices ADD COLUMN reply_timeout REAL NOT NULL DEFAULT 0.0;
    ALTER TABLE devices ADD COLUMN min_gap REAL NOT NULL DEFAULT 0.0;
    ALTER TABLE devices ADD COLUMN wait_for_reply INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE devices ADD COLUMN reply_terminator TEXT NOT NULL DEFAULT '';
    """,
    # 4: settings the operator edits at run time (issue 9: the feedback targets), one text
    # value per key (JSON where structured); no device revision bump when they change
    """
    CREATE TABLE system_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]


class NotFound(KeyError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"no device named {name!r}")

    def __str__(self) -> str:
        return self.args[0]


class EmptyStore(RuntimeError):
    """The file holds no Oscar store (zero length, or an SQLite file without our tables)."""


class Store:
    def __init__(self, path: Path, create: bool = True):
        """Open (and migrate) the store at ``path``. With ``create`` False a file without an
        Oscar schema raises EmptyStore and is left untouched. A file that is not SQLite, or a
        damaged one, raises sqlite3.DatabaseError before anything is written to it."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so every change is all or nothing.
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=5.0)
        try:
            self._db.row_factory = sqlite3.Row
            # Read-only checks first: a file we refuse must not be changed by opening it.
            self.created = self.schema_version == 0
            if self.created and not create:
                raise EmptyStore(f"{path} holds no Oscar store")
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"damaged: {'; '.join(problems[:3])[:200]}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)",
                             (secrets.randbits(62),))
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path} has schema version {current}, newer than this Oscar "
                f"({len(MIGRATIONS)}); upgrade Oscar"
            )
        for version in range(current, len(MIGRATIONS)):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {version + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    @property
    def revision(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()[0])

    @property
    def store_id(self) -> str:
        """Random, made with the store: tells a replaced store from the one it replaced."""
        value = self._db.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()[0]
        return f"{int(value):016x}"

    def raise_revision(self, minimum: int) -> bool:
        """Move the revision up to ``minimum`` if it is lower (never down). True if it moved."""
        cursor = self._db.execute(
            "UPDATE meta SET value = ? WHERE key='revision' AND value < ?", (minimum, minimum))
        return cursor.rowcount > 0

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM devices").fetchone()[0])

    def system_setting(self, key: str) -> str | None:
        """A run-time setting's stored text (table system_settings), None when never set."""
        row = self._db.execute("SELECT value FROM system_settings WHERE key = ?",
                               (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_system_setting(self, key: str, value: str) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT OR REPLACE INTO system_settings VALUES (?, ?)",
                             (key, value))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the store in ``target`` (mode 0600), made with SQLite's online
        backup API while the store stays in use; written beside it and renamed into place."""
        tmp = target.with_name(target.name + ".tmp")
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(tmp, 0o600)
        copy = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            self._db.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        finally:
            copy.close()
        os.replace(tmp, target)

    def _bump(self) -> int:
        self._db.execute("UPDATE meta SET value = value + 1 WHERE key='revision'")
        return self.revision

    def list(self) -> list[Device]:
        rows = self._db.execute(f"SELECT {', '.join(FIELD_NAMES)} FROM devices ORDER BY name")
        return [self._device(row) for row in rows]

    def get(self, name: str) -> Device:
        row = self._db.execute(
            f"SELECT {', '.join(FIELD_NAMES)} FROM devices WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise NotFound(name)
        return self._device(row)

    @staticmethod
    def _device(row: sqlite3.Row) -> Device:
        data = dict(row)
        data["enabled"] = bool(data["enabled"])
        data["tags"] = tuple(tag for tag in data["tags"].split(",") if tag)
        data["wait_for_reply"] = bool(data["wait_for_reply"])
        data["on_connect"] = tuple(json.loads(data["on_connect"]))
        return from_dict(data)

    def add(self, data: dict) -> Device:
        device = validate(data)
        return self._write(lambda: self._insert(device), device)

    def update(self, name: str, changes: dict) -> Device:
        current = self.get(name)
        if "name" in changes and changes["name"] != name:
            raise ValidationError({"name": "cannot be changed; remove and add the device instead"})
        device = validate(changes, base=current)
        return self._write(lambda: self._replace(device), device)

    def remove(self, name: str) -> Device:
        device = self.get(name)
        return self._write(
            lambda: self._db.execute("DELETE FROM devices WHERE name = ?", (name,)), device
        )

    def replace_all(self, devices: list[Device]) -> int:
        """Import: swap the whole configuration in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM devices")
            for device in devices:
                self._insert(device)
            revision = self._bump()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return revision

    def _write(self, action, device: Device) -> Device:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            action()
            self._bump()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return device

    def _insert(self, device: Device) -> None:
        try:
            self._db.execute(
                f"INSERT INTO devices ({', '.join(FIELD_NAMES)}, created_at, updated_at) "
                f"VALUES ({', '.join('?' * len(FIELD_NAMES))}, ?, ?)",
                (*self._values(device), time.time(), time.time()),
            )
        except sqlite3.IntegrityError:
            raise ValidationError({"name": f"a device named {device.name!r} already exists"}) \
                from None

    def _replace(self, device: Device) -> None:
        assignments = ", ".join(f"{field} = ?" for field in FIELD_NAMES[1:])
        self._db.execute(
            f"UPDATE devices SET {assignments}, updated_at = ? WHERE name = ?",
            (*self._values(device)[1:], time.time(), device.name),
        )

    @staticmethod
    def _values(device: Device) -> tuple:
        data = device.to_dict()
        data["enabled"] = int(data["enabled"])
        data["tags"] = ",".join(data["tags"])
        data["wait_for_reply"] = int(data["wait_for_reply"])
        data["on_connect"] = json.dumps(list(data["on_connect"]), ensure_ascii=False)
        return tuple(data[f] for f in FIELD_NAMES)
