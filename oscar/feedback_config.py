"""The feedback targets the registry keeps (store table ``system_settings``, key ``feedback``).

The setting ``feedback`` (env OSCAR_FEEDBACK) seeds the stored list: until an operator sets
the list (web, API, ``oscar feedback set``), the registry follows the setting at every start
(``source: "setting"``); once set, the stored list wins (``source: "store"``) and the setting
is no longer read. The stored value is JSON: ``{"targets": [...], "source": ...}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from oscar import feedback_targets

log = logging.getLogger(__name__)
KEY = "feedback"
FROM_SETTING = "setting"
FROM_STORE = "store"


class TargetsInvalid(ValueError):
    """Refused targets; ``fields`` maps ``targets[i]`` to what is wrong with that entry."""

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = fields or {}


def normalise(targets: Any) -> list[str]:
    """Validated, canonical target texts (``udp://host:port``), duplicates removed, order kept.
    A list of texts, or one comma-separated text. Raises TargetsInvalid naming each bad one."""
    if isinstance(targets, str):
        targets = [part for part in targets.split(",") if part.strip()]
    if not isinstance(targets, (list, tuple)):
        raise TargetsInvalid(f"targets must be a list of udp://HOST:PORT or tcp://HOST:PORT "
                             f"texts, got {type(targets).__name__}")
    if len(targets) > feedback_targets.MAX_TARGETS:
        raise TargetsInvalid(f"at most {feedback_targets.MAX_TARGETS} feedback targets, "
                             f"got {len(targets)}")
    fields: dict[str, str] = {}
    out: list[str] = []
    for index, text in enumerate(targets):
        try:
            canonical = str(feedback_targets.parse_target(text))
        except ValueError as exc:
            fields[f"targets[{index}]"] = str(exc)
            continue
        if canonical not in out:
            out.append(canonical)
    if fields:
        first = next(iter(fields.values()))
        more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
        raise TargetsInvalid(f"{first}{more}", fields)
    return out


def load(store: Any, setting: str) -> tuple[list[str], str]:
    """The current targets and where they come from; seeds the store from the setting (the
    setting is already validated by Settings.check)."""
    stored = store.system_setting(KEY)
    data: dict[str, Any] = {}
    if stored is not None:
        try:
            data = json.loads(stored)
            targets = normalise(data["targets"])
            if data.get("source") == FROM_STORE:
                return targets, FROM_STORE
        except (ValueError, KeyError, TypeError) as exc:
            log.error("stored feedback targets unreadable (%s); using the feedback setting", exc)
    targets = normalise(setting)
    if stored is None or data.get("targets") != targets:
        store.set_system_setting(KEY, json.dumps({"targets": targets, "source": FROM_SETTING}))
    return targets, FROM_SETTING


def save(store: Any, targets: Any) -> list[str]:
    """Validate and store the operator's list; from now on it wins over the setting."""
    clean = normalise(targets)
    store.set_system_setting(KEY, json.dumps({"targets": clean, "source": FROM_STORE}))
    return clean
