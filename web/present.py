"""Text the pages show for registry data, computed once in Python for both the first render
(Jinja) and the live updates (JSON read by the browser), so the two never disagree."""

from __future__ import annotations

import math
import time
from typing import Any

from oscar import states
from oscar.cli_format import NOT_REJECTIONS, ago, heartbeat_text, waiting_text
from oscar.supervisor_client import program_name

STATE_LABELS = {
    states.READY: "ready",
    states.IDLE: "idle",
    states.CONNECTED: "logging in",
    states.AUTH_FAILED: "auth_failed",  # wrong password: shown as the issue names it
    states.CONNECTING: "connecting",
    states.DISABLED: "disabled",
    states.STOPPED: "stopping",
    states.NOT_RUNNING: "actor not running",
}


def clock(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp)) if timestamp else ""


def when(timestamp: float, now: float) -> str:
    """'14:03:07, 12s ago' or '' when it never happened."""
    return f"{clock(timestamp)}, {ago(timestamp, now)}" if timestamp else ""


def state_text(row: dict[str, Any], now: float) -> str:
    """The one word the operator scans for; "down" is an enabled device with no connection
    (waiting between retries). The retry countdown is a separate cell (retry_text)."""
    state = row["state"]
    if state == states.WAITING:
        return "down"
    return STATE_LABELS.get(state, state)


def retry_text(row: dict[str, Any], now: float) -> str:
    """'retry in 3s' while a down device waits for its next attempt, else ''."""
    if row["state"] not in states.RETRYING:
        return ""
    retry_at = row.get("next_retry_at") or 0.0
    return f"retry in {math.ceil(retry_at - now)}s" if retry_at > now else "retrying"


def human_duration(seconds: float) -> str:
    """'12 s', '3 min', '2 h 5 min', '3 d 4 h': readable from across the desk."""
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes and hours < 10 else f"{hours} h"
    days, hours = divmod(seconds // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def for_text(since: float, now: float) -> str:
    """'for 3 min': how long the device has been in its state kind ('' when unknown)."""
    return f"for {human_duration(now - since)}" if since else ""


# Summary counts for the sticky header: ready and idle (on-demand, per-command: a cue opens a
# connection) are ready; waiting, connecting, logging in, login failed, stopping and a missing
# actor are all "down" to the operator; disabled on purpose is counted apart.
def summary_text(rows: list[dict[str, Any]]) -> str:
    ready = sum(row["state"] in states.OK for row in rows)
    disabled = sum(row["state"] == states.DISABLED for row in rows)
    return f"{ready} ready · {len(rows) - ready - disabled} down · {disabled} disabled"


def device_cells(row: dict[str, Any], now: float) -> dict[str, str]:
    """One device's table cells, keyed like the page's ``data-field`` attributes."""
    config = row["config"]
    process = row.get("process", "")
    if row.get("process_pid"):
        process = f"{process} (pid {row['process_pid']})"
    return {
        "address": f"{config['host']}:{config['port']}",
        "enabled": "yes" if config["enabled"] else "no",
        "state": state_text(row, now),
        "retry": retry_text(row, now),
        "process": f"actor: {process}" if process else "",
        "since": for_text(row.get("since", 0.0), now),
        "since_at": clock(row.get("since", 0.0)),
        "sent": str(row.get("sent", 0)),
        "dropped": str(row.get("dropped", 0)),
        "queued": waiting_text(row),  # "2 in flight, 3 queued", shown beside "dropped"
        "last_command": row.get("last_command", ""),
        "last_command_at": when(row.get("last_command_at", 0.0), now),
        "last_reply": row.get("last_reply", ""),
        "last_reply_at": when(row.get("last_reply_at", 0.0), now),
        "last_error": row.get("last_error", ""),
        "last_error_at": when(row.get("last_error_at", 0.0), now),
        "heartbeat": heartbeat_cell(row),
        "tags": ", ".join(config.get("tags") or ()),
        "dialect": dialect_text(config),
    }


def dialect_text(config: dict[str, Any]) -> str:
    """'pjlink · tcp on-demand (close after 25s) · password set': how Oscar talks to it."""
    transport = config.get("transport", "tcp")
    link = transport
    if transport == "tcp":
        connection = config.get("connection", "persistent")
        link = f"tcp {connection}"
        if connection == "on-demand":
            link += f" (close after {config.get('idle_close', 30.0):g}s)"
    parts = [config.get("profile", "generic"), link]
    if config.get("username"):
        parts.append(f"user {config['username']}")
    parts.append("password set" if config.get("password_set") else "no password")
    return " · ".join(parts)


def heartbeat_cell(row: dict[str, Any]) -> str:
    """'heartbeat 1s ago', or 'stale 12s' (shown in red) when a RUNNING loop stopped turning."""
    if row.get("heartbeat_age") is None:
        return ""
    return heartbeat_text(row) if row.get("stale") else f"heartbeat {heartbeat_text(row)} ago"


def listener_text(listener: dict[str, Any] | None) -> str:
    if not listener:
        return "no report yet (is oscar-listener running?)"
    counters = listener.get("counters", {})
    rejected = sum(v for k, v in counters.items() if k not in NOT_REJECTIONS)
    text = (f"UDP {listener['udp_port']}, TCP {listener['tcp_port']}; "
            f"{counters.get('packets', 0)} packets, {counters.get('forwarded', 0)} forwarded, "
            f"{rejected} rejected")
    dropped = counters.get("expired", 0) + counters.get("cancelled", 0)
    if dropped:
        text += f", {dropped} dropped"
    if counters.get("scheduled"):  # cues from bundles dated in the future, waiting now
        text += f", {counters['scheduled']} scheduled"
    if "age" in listener:
        text += "; " + heartbeat_cell({**listener, "heartbeat_age": listener["age"]})
    return text


def with_cells(status: dict[str, Any]) -> dict[str, Any]:
    """The registry's status answer with display text added: ``cells`` per device row and
    ``listener_text``."""
    now = status.get("at") or time.time()
    for row in status["devices"]:
        row["cells"] = device_cells(row, now)
    status["summary_text"] = summary_text(status["devices"])
    status["at_text"] = clock(now)  # "last known at 20:31:05" when the registry goes away
    status["listener_text"] = listener_text(status.get("listener"))
    status["listener_stale"] = bool((status.get("listener") or {}).get("stale"))
    return status


def heartbeats(status: dict[str, Any]) -> dict[str, Any]:
    """The heartbeat part of /api/health, from the registry's status answer."""
    listener = status.get("listener")
    actors = [row for row in status["devices"]
              if row["config"]["enabled"] and row.get("heartbeat_age") is not None]
    oldest = max(actors, key=lambda row: row["heartbeat_age"], default=None)
    stale = ["oscar-listener"] if listener and listener.get("stale") else []
    stale += [program_name(row["name"]) for row in status["devices"] if row.get("stale")]
    return {
        "listener": {"heartbeat_age": round(listener["age"], 1) if listener else None,
                     "stale": bool(listener and listener.get("stale"))},
        "actors": {"oldest_heartbeat_age": round(oldest["heartbeat_age"], 1) if oldest else None,
                   "oldest": oldest["name"] if oldest else None},
        "stale": stale,
    }


def precise_clock(timestamp: float, now: float | None = None) -> str:
    """'14:03:07.125': events come in bursts, so the activity list shows milliseconds; an
    event of another day (the history keeps days) gets its date: '2026-11-25 14:03:07.125'."""
    if not timestamp:
        return ""
    text = f"{clock(timestamp)}.{int(timestamp * 1000) % 1000:03}"
    day = time.strftime("%Y-%m-%d", time.localtime(timestamp))
    if day != time.strftime("%Y-%m-%d", time.localtime(time.time() if now is None else now)):
        text = f"{day} {text}"
    return text


def event_cells(event: dict[str, Any]) -> dict[str, str]:
    return {
        "at": precise_clock(event.get("at", 0.0)),
        "who": event.get("device") or event.get("source", ""),
        "event": event.get("event", ""),
        "detail": event.get("detail", ""),
        "sender": event.get("sender", ""),
    }


def duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02}:{secs:02}"
    return f"{days}d {text}" if days else text
