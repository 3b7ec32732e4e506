"""Scale and recovery runs of the benchmark (issue 10), each on a fresh Oscar.

- scale(n): time from `oscar import` of n devices until all are ready, and the CPU time each
  process type spent meanwhile; the whole system's idle CPU (% of one core) over
  ``idle_seconds`` rounded to whole beacon periods (``idle_window``); resident memory per
  process type; with ``load_rate``, then that many cues a second over UDP spread evenly over
  the n devices.
- recovery(): an actor killed with SIGKILL under 1000 cues/s (time until supervisord started it
  again and until its device has a connection again, cues lost); a device that goes away for a
  while and comes back (time from it listening again to Oscar's connection).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime

from bench_procs import cpu_delta, cpu_snapshot, rss_kb
from bench_systems import HERE, StampDevice, oscar_processes, start_oscar, stop_oscar, wait_ok

from oscar.processes.registry import SNAPSHOT_EVERY
from tests.support import wait_for


def idle_window(seconds: float) -> float:
    """``seconds`` rounded to whole beacon periods (at least one). An idle Oscar's work comes
    with the registry's beacon (every actor's heartbeat, the registry's and the listener's
    share of it): a window of whole periods holds the same number of beacons whatever its
    phase, where 10 s held two or three (about 0.4 % of one core apart with 100 devices)."""
    return max(1, round(seconds / SNAPSHOT_EVERY)) * SNAPSHOT_EVERY


def scale(n: int, idle_seconds: float = 10.0, load_rate: int = 0,
          load_seconds: float = 5.0) -> dict:
    device = StampDevice(ports=n)
    system = start_oscar()
    try:
        export = system.call("export")
        names = [f"d{i:03d}" for i in range(n)]
        export["devices"] = [{"name": name, "host": "127.0.0.1", "port": port}
                             for name, port in zip(names, device.ports, strict=True)]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(export, handle)
        try:
            labels = oscar_processes(system)
            before = cpu_snapshot(labels)
            start = time.monotonic()
            done = system.cli("import", handle.name, timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"oscar import failed: {done.stderr or done.stdout}")
            wait_ok(system, names, timeout=120)
            ready = time.monotonic() - start
            # CPU time spent on the way (actors count from their start): on a shared machine
            # a steadier figure than the wall time, which waits for whatever else runs.
            labels.update(oscar_processes(system))
            ready_cpu = cpu_delta(before, cpu_snapshot(labels), labels)
        finally:
            os.unlink(handle.name)
        time.sleep(2.0)  # start-up work settles
        labels = oscar_processes(system)
        idle_seconds = idle_window(idle_seconds)
        before = cpu_snapshot(labels)
        idle_from = time.monotonic()
        time.sleep(idle_seconds)
        # Read the CPU times before asking supervisord for pids: its getAllProcessInfo of 100
        # programs costs it about 30 ms of CPU, which counted as idle time (0.15 % in 20 s).
        after = cpu_snapshot(labels)
        idle_took = time.monotonic() - idle_from
        born = {pid: name for pid, name in oscar_processes(system).items() if pid not in labels}
        labels.update(born)
        cpu = cpu_delta(before, {**after, **cpu_snapshot(born)}, labels)
        rss: dict[str, list[int]] = {}
        for pid, label in labels.items():
            rss.setdefault(label, []).append(rss_kb(pid))
        loaded = {}
        if load_rate:
            from bench import drain, load, stats
            device.cmd("dump")
            sent = load("udp", system.osc_port, load_rate, load_seconds, "/device/d{:03d}/message",
                        devices=n)
            drain(device, sent["sent"])
            row = stats(sent["sent"], device.cmd("dump"))
            loaded = {"load": {"rate": load_rate, "seconds": load_seconds,
                               "offered_per_s": round(sent["sent"] / ((sent["end_ns"]
                                                      - sent["start_ns"]) / 1e9)), **row}}
        return {
            **loaded,
            "devices": n, "ready_seconds": round(ready, 2),
            "ready_cpu_seconds": {k: round(v / 1e6, 2) for k, v in sorted(ready_cpu.items())},
            "idle_seconds": round(idle_took, 2),
            "idle_cpu_pct": round(sum(cpu.values()) / (idle_took * 1e6) * 100, 2),
            "idle_cpu_pct_per_process_type": {k: round(v / (idle_took * 1e6) * 100, 2)
                                              for k, v in sorted(cpu.items())},
            # one figure per type: the largest of its processes (actors: also their count)
            "rss_mb": {k: round(max(v) / 1024, 1) for k, v in sorted(rss.items())},
            "processes": {k: len(v) for k, v in sorted(rss.items())},
        }
    finally:
        stop_oscar(system)
        device.close()


def _first_accept_after(device: StampDevice, port: int, after_ns: int) -> int | None:
    times = [t for p, t in device.cmd("accepts") if p == port and t > after_ns]
    return min(times) if times else None


def _respawned_after(system, program: str, after: float) -> float | None:
    """Seconds from ``after`` (time.time()) to supervisord's next "spawned" line for
    ``program``: its share of a recovery (the rest is the actor's start and connect)."""
    for line in (system.home / "logs" / "supervisord.log").read_text().splitlines():
        if f"spawned: '{program}'" in line:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if stamp >= after - 0.001:  # the log has milliseconds
                return round(max(0.0, stamp - after), 3)
    return None


def recovery(rate: int = 1000, down_seconds: float = 3.0) -> dict:
    device = StampDevice()
    system = start_oscar()
    try:
        system.add_device("bench", device.port)
        wait_ok(system, ["bench"])
        time.sleep(1.0)
        # 1. kill -9 of the actor while cues flow.
        device.cmd("dump")
        seconds = 4.0
        load = subprocess.Popen([sys.executable, str(HERE / "loadgen.py"), "udp", "127.0.0.1",
                                 str(system.osc_port), str(rate), str(seconds)],
                                stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        pid = system.pid_of("oscar-device-bench")
        killed, killed_at = time.monotonic_ns(), time.time()
        os.kill(pid, signal.SIGKILL)
        back = wait_for(lambda: _first_accept_after(device, device.port, killed), timeout=30,
                        interval=0.01, message="actor to reconnect after kill -9")
        out, _ = load.communicate(timeout=seconds + 30)
        sent = json.loads(out.splitlines()[-1])["sent"]
        wait_ok(system, ["bench"])
        from bench import drain, stats
        drain(device, sent, quiet=1.0)
        row = stats(sent, device.cmd("dump"))
        status = system.device_status("bench")
        actor_kill = {"oscar_counted": {k: status.get(k) for k in ("sent", "dropped")},
                      "rate": rate, "reconnect_s": round((back - killed) / 1e9, 3),
                      "respawn_s": _respawned_after(system, "oscar-device-bench", killed_at),
                      **{k: row[k] for k in ("sent", "lost", "duplicated", "reordered")}}
        # 2. the device goes away and comes back.
        device.cmd(f"close {device.port}")
        wait_for(lambda: system.device_status("bench")["state"] not in ("ready", "idle"),
                 timeout=15, message="Oscar to notice the device gone")
        time.sleep(down_seconds)
        device.cmd(f"open {device.port}")
        reopened = time.monotonic_ns()
        back = wait_for(lambda: _first_accept_after(device, device.port, reopened), timeout=60,
                        interval=0.01, message="actor to reconnect to the device")
        device_back = {"down_s": down_seconds, "reconnect_s": round((back - reopened) / 1e9, 3)}
        return {"actor_kill": actor_kill, "device_back": device_back}
    finally:
        stop_oscar(system)
        device.close()
