"""Where Oscar's time goes: py-spy samples of the listener and of one device actor while
Oscar carries one device's cues over UDP (5000 a second by default).

The top 10 functions of each by cumulative share (the share of the process's non-idle samples
whose stack holds the function), with their self share, and the top 10 by self share; the
collapsed stacks are kept in benchmarks/results/profile-<process>.txt for a flame graph (e.g.
flamegraph.pl or speedscope).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench_systems import HERE, StampDevice, start_oscar, stop_oscar, wait_ok

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def top(collapsed: str, n: int = 10) -> tuple[int, list[dict]]:
    """(samples, top n rows) from py-spy's raw output: 'frame;frame;... count' per line, each
    frame 'function (file:line)'; lines within a function are merged."""
    cumulative: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        names = []
        for frame in stack.split(";"):
            match = FRAME.match(frame.strip())
            names.append(f"{match['func']} ({_short(match['file'])})" if match else frame)
        for name in set(names[1:] if names[0].startswith("process ") else names):
            cumulative[name] += count
        own[names[-1]] += count
    rows = [{"function": name, "cumulative_pct": round(100 * c / total, 1),
             "self_pct": round(100 * own[name] / total, 1)}
            for name, c in cumulative.most_common() if total]
    # The entry chain (runpy, <module>, main, the run loop) holds every main-thread sample and
    # says nothing: skip the functions as common as the most common one.
    if rows:
        rows = [r for r in rows if r["cumulative_pct"] < rows[0]["cumulative_pct"] - 0.05]
    return total, rows[:n]


def _short(path: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def profile(rate: int = 5000, seconds: float = 6.0, out: Path = HERE / "results") -> dict:
    if not Path(PY_SPY).exists():
        return {"error": "py-spy not installed (pip install py-spy)"}
    device = StampDevice()
    system = start_oscar()
    try:
        system.add_device("bench", device.port)
        wait_ok(system, ["bench"])
        pids = {"listener": system.pid_of("oscar-listener"),
                "actor": system.pid_of("oscar-device-bench")}
        out.mkdir(parents=True, exist_ok=True)
        files = {who: out / f"profile-{who}.txt" for who in pids}
        spies = [subprocess.Popen([PY_SPY, "record", "--pid", str(pid), "--duration",
                                   str(int(seconds) - 1), "--rate", "500", "--format", "raw",
                                   "--output", str(files[who]), "--nonblocking"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for who, pid in pids.items()]
        subprocess.run([sys.executable, str(HERE / "loadgen.py"), "udp", "127.0.0.1",
                        str(system.osc_port), str(rate), str(seconds)],
                       capture_output=True, check=True, timeout=seconds + 60)
        errors = [spy.communicate(timeout=60)[1] for spy in spies]
        result: dict = {"rate": rate, "seconds": seconds, "tool": "py-spy --nonblocking",
                        "top": {}, "samples": {}}
        for (who, path), error in zip(files.items(), errors, strict=True):
            if not path.exists():
                result["top"][who] = []
                result.setdefault("errors", {})[who] = error.strip()[-300:]
                continue
            text = path.read_text()
            result["samples"][who], result["top"][who] = top(text)
            # py-spy leaves out samples where the process sleeps: the share of wall time busy
            result.setdefault("busy_pct", {})[who] = round(
                100 * result["samples"][who] / (500 * (int(seconds) - 1)), 1)
            every = top(text, 10_000)[1]
            result.setdefault("top25", {})[who] = every[:25]
            result.setdefault("top_self", {})[who] = sorted(
                every, key=lambda row: -row["self_pct"])[:10]
        return result
    finally:
        stop_oscar(system)
        device.close()
