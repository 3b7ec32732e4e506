"""What the benchmark reads from /proc: CPU time and memory of a system's processes, and
whether a port is bound yet."""

from __future__ import annotations

import os
from pathlib import Path

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def cpu_us(pid: int) -> float | None:
    """CPU time of every thread of ``pid`` (schedstat, nanosecond precision; ZeroMQ's I/O
    threads included), plus cutime + cstime of the children it reaped, in microseconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = 0.0
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0]) / 1000
            except OSError:
                pass  # a thread that just ended
    except OSError:
        return None
    # fields[0] is the state (field 3); cutime and cstime are fields 16 and 17.
    return total + (int(fields[13]) + int(fields[14])) * TICK_US


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(root: int) -> list[int]:
    """root and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def cpu_snapshot(pids: dict[int, str]) -> dict[int, float]:
    return {pid: value for pid in pids if (value := cpu_us(pid)) is not None}


def cpu_delta(before: dict[int, float], after: dict[int, float],
              labels: dict[int, str]) -> dict[str, float]:
    """CPU microseconds per label between two snapshots (a process born in between counts
    from zero; one gone before the second snapshot counts through its parent's cutime)."""
    out: dict[str, float] = {}
    for pid, end in after.items():
        label = labels.get(pid, str(pid))
        out[label] = out.get(label, 0.0) + end - before.get(pid, 0.0)
    return out


def bound(port: int, proto: str) -> bool:
    """Is 127.0.0.1:port bound (UDP) or listening (TCP)?"""
    table = Path("/proc/net/udp" if proto == "udp" else "/proc/net/tcp").read_text()
    for line in table.splitlines()[1:]:
        parts = line.split()
        if int(parts[1].split(":")[1], 16) == port and (proto == "udp" or parts[3] == "0A"):
            return True
    return False
