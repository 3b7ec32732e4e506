"""Daily copies of the store in ``$OSCAR_HOME/backups/``, for when the store file is lost.

One file a day, ``oscar-YYYY-MM-DD.sqlite3`` (local date), made with SQLite's online backup API
at registry start-up and then whenever the date changes; the newest KEEP are kept, files 0600.
A store with no devices is not copied: the copy would only push useful older ones out.
Restoring: README.md "Backups and restoring the store".
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from oscar.store import Store

log = logging.getLogger(__name__)
KEEP = 7
PREFIX = "oscar-"
SUFFIX = ".sqlite3"
RETRY_AFTER = 3600.0  # after a failed copy (disk full...), try again this much later


def directory(home: Path) -> Path:
    return home / "backups"


def existing(folder: Path) -> list[Path]:
    """Backup files in ``folder``, oldest first (the date in the name sorts them)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX))


class DailyBackup:
    def __init__(self, store: Store, folder: Path, keep: int = KEEP,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.folder = folder
        self.keep = keep
        self.clock = clock
        self.done_for = ""  # the date the last copy (or decision not to copy) was for
        self.retry_at = 0.0

    def tick(self) -> Path | None:
        """Make today's copy if it is due; cheap when it is not (call it every loop turn)."""
        now = self.clock()
        day = time.strftime("%Y-%m-%d", time.localtime(now))
        if day == self.done_for or now < self.retry_at:
            return None
        try:
            made = self.run(day)
        except (OSError, sqlite3.Error) as exc:
            self.retry_at = now + RETRY_AFTER
            log.error("could not back up the store to %s: %s (trying again in an hour)",
                      self.folder, exc)
            return None
        self.done_for = day
        return made

    def run(self, day: str) -> Path | None:
        if self.store.count() == 0:
            log.info("store has no devices: no backup made for %s", day)
            return None
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.folder / f"{PREFIX}{day}{SUFFIX}"
        self.store.backup_to(target)
        for old in existing(self.folder)[:-self.keep]:
            old.unlink(missing_ok=True)
        log.info("store backed up to %s (revision %d)", target, self.store.revision)
        return target


def newest(folder: Path) -> Path | None:
    found = existing(folder)
    return found[-1] if found else None


def remove_stale_temp(folder: Path) -> None:
    """A copy interrupted by a crash leaves a .tmp file: never mistaken for a backup."""
    if folder.is_dir():
        for tmp in folder.glob(f"{PREFIX}*{SUFFIX}.tmp"):
            tmp.unlink(missing_ok=True)
