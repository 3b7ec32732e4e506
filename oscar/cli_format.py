"""Plain-text tables for the terminal."""

from __future__ import annotations

import time
from typing import Any


def ago(timestamp: float, now: float | None = None) -> str:
    if not timestamp:
        return "-"
    seconds = max(0.0, (now or time.time()) - timestamp)
    # Round down, so 59.6 seconds is "59s ago" rather than "60s ago".
    if seconds < 60:
        return f"{int(seconds)}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 360) / 10:.1f}h ago"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in cells]
    return "\n".join(lines)


def state_text(row: dict[str, Any]) -> str:
    state = row["state"]
    if state in ("waiting", "auth_failed") and row.get("next_retry_at"):
        retry = f"retry in {max(0.0, row['next_retry_at'] - time.time()):.0f}s"
        return f"auth_failed, {retry}" if state == "auth_failed" else retry
    return state


# Listener counters that are not refusals of input: totals, gauges, connection bookkeeping,
# and drops of cues that had been accepted (shown as "dropped").
NOT_REJECTIONS = frozenset({"packets", "forwarded", "tcp_connections", "scheduled", "resent",
                            "receipts", "tcp_idle_closed", "tcp_evicted", "expired", "cancelled",
                            # feedback (docs/osc.md): OSC out to targets and TCP clients
                            "feedback_sent", "feedback_dropped", "feedback_queued",
                            "feedback_rate_limited", "feedback_errors", "queries"})


def heartbeat_text(row: dict[str, Any]) -> str:
    """Age of a process's last report: '1s', or 'stale 12s' when its loop seems stuck."""
    age = row.get("heartbeat_age")
    if age is None:
        return "-"
    return f"stale {int(age)}s" if row.get("stale") else f"{int(age)}s"


def waiting_text(row: dict[str, Any]) -> str:
    """'2 in flight, 3 queued': accepted commands neither sent nor dropped yet ('' if none)."""
    parts = [f"{row[key]} {label}" for key, label in (("in_flight", "in flight"),
                                                       ("queued", "queued")) if row.get(key)]
    return ", ".join(parts)


def dropped_text(row: dict[str, Any]) -> str:
    waiting = waiting_text(row)
    return f"{row['dropped']} ({waiting})" if waiting else str(row["dropped"])


def status_table(status: dict[str, Any]) -> str:
    rows = []
    for row in status["devices"]:
        config = row["config"]
        rows.append([row["name"], f"{config['host']}:{config['port']}", state_text(row),
                     ago(row["since"]), row["sent"], dropped_text(row), heartbeat_text(row),
                     (row["last_error"] or "-")[:60], row["process"]])
    headers = ["DEVICE", "ADDRESS", "STATE", "SINCE", "SENT", "DROPPED", "HEARTBEAT",
               "LAST ERROR", "PROCESS"]
    text = table(headers, rows) if rows else "no devices (add one: oscar device add NAME HOST PORT)"
    listener = status.get("listener")
    if listener:
        counters = listener["counters"]
        rejected = sum(v for k, v in counters.items() if k not in NOT_REJECTIONS)
        text += (f"\n\nlistener: UDP {listener['udp_port']}, TCP {listener['tcp_port']}; "
                 f"{counters.get('packets', 0)} packets, {counters.get('forwarded', 0)} forwarded, "
                 f"{rejected} rejected")
        dropped = counters.get("expired", 0) + counters.get("cancelled", 0)
        if dropped:
            text += f", {dropped} dropped"
        if counters.get("scheduled"):  # pending now, from bundles dated in the future
            text += f", {counters['scheduled']} scheduled"
        if counters.get("feedback_sent") or counters.get("feedback_dropped"):
            text += (f"; feedback {counters.get('feedback_sent', 0)} sent, "
                     f"{counters.get('feedback_dropped', 0)} dropped")
            if counters.get("feedback_rate_limited"):
                text += f", {counters['feedback_rate_limited']} replies over the rate limit"
        if "age" in listener:
            text += f"; heartbeat {heartbeat_text({**listener, 'heartbeat_age': listener['age']})}"
    else:
        text += "\n\nlistener: no report yet"
    if status.get("supervisor_error"):
        text += f"\nsupervisord: {status['supervisor_error']}"
    return text
