"""Per-device totals kept across registry restarts, in ``$OSCAR_HOME/run/totals.json``.

Only the registry writes it (atomically, when the totals changed, at most every couple of
seconds); it reads it once at start-up. A missing or damaged file means totals start again from
the actors' current runs, never a crash: ``parse`` checks every field and raises only
``TotalsFileError``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from oscar.status_table import TOTALS

log = logging.getLogger(__name__)
RUN_FIELDS = ("pid", "queued", "in_flight", *TOTALS)
MAX_DEVICES = 10_000


class TotalsFileError(ValueError):
    """The file is not a totals file this Oscar wrote."""


def _count(value: Any, what: str) -> int:
    if type(value) is not int or abs(value) > 2**62:
        raise TotalsFileError(f"{what}: expected a whole number")
    return value


def parse(text: str) -> dict[str, Any]:
    """The state StatusTable.load_totals takes; TotalsFileError for anything else."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TotalsFileError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or len(data) > MAX_DEVICES:
        raise TotalsFileError("expected an object of at most 10000 devices")
    state: dict[str, Any] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("base"), dict):
            raise TotalsFileError(f"{name[:64]!r}: expected an object with a base")
        base = {key: _count(entry["base"].get(key, 0), f"{name[:64]}.base.{key}")
                for key in TOTALS}
        since = entry.get("since", 0.0)
        if type(since) not in (int, float) or not math.isfinite(since):
            raise TotalsFileError(f"{name[:64]!r}.since: expected a time")
        run = entry.get("run")
        if run is not None:
            if not isinstance(run, dict):
                raise TotalsFileError(f"{name[:64]!r}.run: expected an object or null")
            run = {key: _count(run.get(key), f"{name[:64]}.run.{key}") for key in RUN_FIELDS}
        state[name] = {"base": base, "since": float(since), "run": run}
    return state


def load(path: Path) -> dict[str, Any]:
    """The saved state, or {} (logged) when there is none or it cannot be used."""
    try:
        return parse(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, TotalsFileError) as exc:
        log.warning("device totals not restored from %s: %s", path, exc)
        return {}


def save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, path)  # a reader sees the old file or the new one
