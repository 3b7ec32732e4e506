"""The benchmark suite (issue 10): Oscar against four baselines, in the same run, interleaved.

    python benchmarks/bench.py            # quick: a few minutes (what `make bench` runs)
    python benchmarks/bench.py --full     # the whole matrix (`make bench FULL=1`)

A load generator (loadgen.py, its own process) sends numbered cues stamped with CLOCK_MONOTONIC
over UDP, TCP-SLIP or TCP length-prefix OSC; a fake device (stamp_device.py, its own process)
stamps each arrival with the same clock. Per system, protocol, rate and repetition: sent,
delivered, lost, reordered, duplicated, p50/p99/max latency, CPU per cue per process (from
/proc), throughput. Systems, in an order that alternates every repetition (A/B/A/B): direct
(load generator -> device), socat, relay1 (one Python process), relay2 (two Python processes
and ZeroMQ, baseline_zmq_relay.py) and Oscar (real supervisord, INFO logging).

Then the scale runs (bench_scale.py) and, with --profile, py-spy profiles (bench_profile.py).
Writes benchmarks/results/bench.json (or --out), prints a table, draws bench.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_procs import cpu_delta, cpu_snapshot
from bench_systems import HERE, SYSTEMS, StampDevice, System

RESULTS = HERE / "results"
RATES = {"100": 100, "1000": 1000, "5000": 5000, "20000": 20000, "max": 0}


def stats(sent: int, arrivals: list[list[int]]) -> dict:
    """Delivery and latency figures from the device's [port, seq, sent_ns, arrival_ns] rows."""
    first: dict[int, int] = {}
    duplicated = reordered = 0
    highest: dict[int, int] = {}  # per device port: order is a promise per device
    latencies = []
    for port, seq, sent_ns, arrival_ns in arrivals:
        if seq in first:
            duplicated += 1
            continue
        first[seq] = arrival_ns
        if seq < highest.get(port, -1):
            reordered += 1
        highest[port] = max(highest.get(port, -1), seq)
        latencies.append((arrival_ns - sent_ns) / 1000)
    latencies.sort()

    def pct(p: float) -> float | None:
        return round(latencies[round(p * (len(latencies) - 1))], 1) if latencies else None
    return {"sent": sent, "delivered": len(first), "lost": sent - len(first),
            "reordered": reordered, "duplicated": duplicated,
            "p50_us": pct(0.50), "p99_us": pct(0.99), "max_us": pct(1.0)}


def drain(device: StampDevice, sent: int, quiet: float = 0.5, limit: float = 10.0) -> None:
    """Wait until every cue arrived, or none arrived for ``quiet`` s (the rest counts lost)."""
    deadline = time.monotonic() + limit
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = device.cmd("count")
        if count >= sent:
            return
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > quiet:
            return
        time.sleep(0.05)


def load(proto: str, port: int, rate: int, seconds: float, address: str,
         devices: int = 1) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "loadgen.py"), proto, "127.0.0.1",
                          str(port), str(rate), str(seconds), "--address", address,
                          "--devices", str(devices)],
                         capture_output=True, text=True, timeout=seconds + 60, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def trial(system: System, device: StampDevice, proto: str, rate: int, seconds: float,
          quiet: float = 0.5) -> dict:
    send_proto, port = system.begin(proto, device)
    try:
        device.cmd("dump")  # forget anything from before
        labels = system.processes()
        before = cpu_snapshot(labels)
        sent = load(send_proto, port, rate, seconds, "/device/bench/message")
        drain(device, sent["sent"], quiet=quiet)
        labels.update(system.processes())
        cpu = cpu_delta(before, cpu_snapshot(labels), labels)
        arrivals = device.cmd("dump")
    finally:
        system.end()
    row = stats(sent["sent"], arrivals)
    delivered = max(row["delivered"], 1)
    row["send_errors"] = sent["send_errors"]
    row["offered_per_s"] = round(sent["sent"] / ((sent["end_ns"] - sent["start_ns"]) / 1e9))
    last = max((a[3] for a in arrivals), default=sent["start_ns"])
    row["throughput_per_s"] = round(row["delivered"] / max((last - sent["start_ns"]) / 1e9, 1e-9))
    row["cpu_us_per_cue"] = {k: round(v / delivered, 1) for k, v in sorted(cpu.items())}
    row["cpu_us_per_cue_total"] = round(sum(cpu.values()) / delivered, 1)
    return row


def run_matrix(systems: list[str], protos: list[str], rates: list[str], tcp_rates: list[str],
               seconds: float, reps: int, quiet: float = 0.5) -> list[dict]:
    chosen: list[System] = []
    for name in systems:
        system = SYSTEMS[name]()
        why = system.available()
        if why:
            print(f"skipping {name}: {why}", flush=True)
        else:
            chosen.append(system)
    trials = []
    device = StampDevice()
    try:
        for proto in protos:
            for rate_name in (rates if proto == "udp" else tcp_rates):
                for rep in range(reps):
                    order = chosen if rep % 2 == 0 else chosen[::-1]
                    for system in order:
                        rate = RATES[rate_name] if rate_name in RATES else int(rate_name)
                        row = trial(system, device, proto, rate, seconds, quiet)
                        row.update(system=system.name, proto=proto, rate=rate_name, rep=rep)
                        trials.append(row)
                        print(f"  {proto:4} {rate_name:>5}/s rep {rep} {system.name:7} "
                              f"lost {row['lost']:6} p50 {row['p50_us']} p99 {row['p99_us']} "
                              f"cpu/cue {row['cpu_us_per_cue_total']}", flush=True)
    finally:
        for system in chosen:
            system.close()
        device.close()
    return trials


def summarise(trials: list[dict]) -> list[dict]:
    """One row per system, protocol and rate: medians over repetitions of p50, p99 and CPU,
    the worst max, and totals of the counts."""
    groups: dict[tuple, list[dict]] = {}
    for row in trials:
        groups.setdefault((row["system"], row["proto"], row["rate"]), []).append(row)
    out = []
    for (system, proto, rate), rows in groups.items():
        def med(key: str, rows=rows):
            values = [r[key] for r in rows if r[key] is not None]
            return round(statistics.median(values), 1) if values else None
        labels = sorted({k for r in rows for k in r["cpu_us_per_cue"]})
        out.append({
            "system": system, "proto": proto, "rate": rate, "reps": len(rows),
            **{k: sum(r[k] for r in rows)
               for k in ("sent", "delivered", "lost", "reordered", "duplicated")},
            "loss_pct": round(100 * sum(r["lost"] for r in rows)
                              / max(sum(r["sent"] for r in rows), 1), 2),
            "p50_us": med("p50_us"), "p99_us": med("p99_us"),
            "max_us": max((r["max_us"] for r in rows if r["max_us"] is not None), default=None),
            "throughput_per_s": med("throughput_per_s"),
            "cpu_us_per_cue_total": med("cpu_us_per_cue_total"),
            "cpu_us_per_cue": {k: round(statistics.median(r["cpu_us_per_cue"].get(k, 0)
                                                          for r in rows), 1) for k in labels},
        })
    return out


def ratios(summary: list[dict]) -> list[dict]:
    """Oscar's p50, p99 and CPU per cue divided by each baseline's, per protocol and rate."""
    index = {(r["system"], r["proto"], r["rate"]): r for r in summary}
    out = []
    for (system, proto, rate), ours in index.items():
        if system != "oscar":
            continue
        for base_name in ("direct", "socat", "relay1", "relay2"):
            base = index.get((base_name, proto, rate))
            if base is None:
                continue
            row = {"proto": proto, "rate": rate, "against": base_name}
            for key in ("p50_us", "p99_us", "cpu_us_per_cue_total"):
                if ours[key] and base[key]:
                    row[key] = round(ours[key] / base[key], 2)
            out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the whole matrix (slow)")
    parser.add_argument("--systems", default="direct,socat,relay1,relay2,oscar")
    parser.add_argument("--protos", default="udp,slip,lp")
    parser.add_argument("--rates", help="comma-separated, of 100,1000,5000,20000,max")
    parser.add_argument("--tcp-rates", help="rates for slip and lp (default: quick 1000)")
    parser.add_argument("--seconds", type=float, help="per trial (quick 2, full 5)")
    parser.add_argument("--reps", type=int, help="repetitions (quick 1, full 3)")
    parser.add_argument("--scale", help="device counts, e.g. 1,10,100 (quick 10,100; none: skip)")
    parser.add_argument("--scale-load", default="10:50000",
                        help="N:RATE: with N devices also send RATE cues/s spread over them")
    parser.add_argument("--load-seconds", type=float, default=5.0,
                        help="how long the --scale-load trial sends")
    parser.add_argument("--sustain", default="20000:10",
                        help="RATE:SECONDS: one long Oscar trial at RATE cues/s (none: skip)")
    parser.add_argument("--idle-seconds", type=float, default=10.0,
                        help="idle window of the scale trials, rounded to whole beacon "
                             "periods of 4.9 s (10: 9.8 s)")
    parser.add_argument("--quiet-seconds", type=float, default=0.5,
                        help="a cue not there after this long without any arrival is lost")
    parser.add_argument("--no-recovery", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the listener and an actor at 5000 cues/s")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench.json")
    args = parser.parse_args(argv)
    full = args.full or os.environ.get("FULL") == "1"
    rates = (args.rates or "100,1000,5000,20000,max").split(",")
    tcp_rates = (args.tcp_rates or ("100,1000,5000,20000,max" if full else "1000")).split(",")
    seconds = args.seconds or (5.0 if full else 2.0)
    reps = args.reps or (3 if full else 1)
    scale = args.scale or ("1,10,100" if full else "10,100")
    load_devices, load_rate = (int(x) for x in args.scale_load.split(":"))
    started = time.time()
    result: dict = {"meta": {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "mode": "full" if full else "quick", "seconds_per_trial": seconds, "reps": reps,
        "cpus": os.cpu_count(), "machine": platform.machine(),
        "python": platform.python_version(), "kernel": platform.release()}}
    print(f"benchmark ({result['meta']['mode']}): {seconds} s per trial, {reps} rep(s)",
          flush=True)
    result["trials"] = run_matrix(args.systems.split(","), args.protos.split(","), rates,
                                  tcp_rates, seconds, reps, args.quiet_seconds)
    result["summary"] = summarise(result["trials"])
    result["ratios"] = ratios(result["summary"])
    if args.sustain != "none" and "oscar" in args.systems.split(","):
        rate_name, sustain_seconds = args.sustain.split(":")
        print(f"sustained: {rate_name} cues/s for {sustain_seconds} s", flush=True)
        result["sustained"] = [
            {**row, "seconds": float(sustain_seconds)} for row in summarise(run_matrix(
                ["oscar"], ["udp"], [rate_name], [], float(sustain_seconds), 1,
                args.quiet_seconds))]
    if scale != "none":
        import bench_scale
        result["scale"] = [bench_scale.scale(int(n), args.idle_seconds,
                                             load_rate if int(n) == load_devices else 0,
                                             args.load_seconds)
                           for n in scale.split(",")]
    if not args.no_recovery and "oscar" in args.systems.split(","):
        import bench_scale
        result["recovery"] = bench_scale.recovery()
    if args.profile:
        import bench_profile
        result["profile"] = bench_profile.profile(rate=5000, seconds=11.0)
    result["meta"]["wall_seconds"] = round(time.time() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    import bench_report
    import bench_targets
    print(bench_report.table(result))
    print(bench_targets.table(result))
    plot = bench_report.plot(result, args.out.with_suffix(".png"))
    print(f"written to {args.out}" + (f" and {plot}" if plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
