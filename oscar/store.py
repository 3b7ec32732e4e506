"""The device store: SQLite, written only by the registry.

The schema is versioned with ``PRAGMA user_version``; each entry of MIGRATIONS moves it one step
forward inside a transaction, so later fields are added without losing existing devices.
Every change bumps a revision number that subscribers use to notice missed updates.
"""

from __future__ import annotations

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
]


class NotFound(KeyError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"no device named {name!r}")

    def __str__(self) -> str:
        return self.args[0]


class Store:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so every change is all or nothing.
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=5.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()

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
        return tuple(int(data[f]) if f == "enabled" else data[f] for f in FIELD_NAMES)
