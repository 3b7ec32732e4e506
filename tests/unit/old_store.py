"""Store files as an older Oscar left them on disk, for the migration tests."""

import sqlite3
from pathlib import Path

from oscar.store import Store


def open_old_store(path: Path, script: str) -> Store:
    """Write a new store file at ``path`` with ``script`` (an old schema and its rows, written
    out in the test rather than taken from MIGRATIONS, so the test keeps describing the files
    that version left on disk), then open it with today's Store, which migrates it."""
    db = sqlite3.connect(path)
    db.executescript(script)
    db.close()
    return Store(path)
