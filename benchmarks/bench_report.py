"""The benchmark's readable table and its plot of latency percentiles per rate."""

from __future__ import annotations

from pathlib import Path

ORDER = ["100", "1000", "5000", "20000", "max"]


def fmt(value, width: int) -> str:
    if value is None:
        value = "-"
    elif isinstance(value, float) and value >= 1000:
        value = f"{value:.0f}"
    return f" {value:>{width - 1}}"


def _per_type(values: dict, unit: str) -> str:
    return ", ".join(f"{k} {v}{unit}" for k, v in values.items())


def table(result: dict) -> str:
    lines = ["", "latency in µs (OSC sent -> bytes at the device), CPU in µs per delivered cue "
             "(all the system's processes); medians over repetitions",
             f"{'proto':6}{'rate':>6} {'system':8}{'sent':>8}{'lost':>7}{'reord':>6}{'dup':>5}"
             f"{'p50':>8}{'p99':>9}{'max':>9}{'cpu/cue':>9}{'deliv/s':>9}  cpu per process"]
    rows = sorted(result.get("summary", []),
                  key=lambda r: (r["proto"] != "udp", r["proto"], ORDER.index(r["rate"]),
                                 r["system"]))
    for r in rows:
        per = " ".join(f"{k}={v}" for k, v in r["cpu_us_per_cue"].items())
        lines.append(f"{r['proto']:6}{r['rate']:>6} {r['system']:8}{r['sent']:>8}{r['lost']:>7}"
                     f"{r['reordered']:>6}{r['duplicated']:>5}{fmt(r['p50_us'], 8)}"
                     f"{fmt(r['p99_us'], 9)}{fmt(r['max_us'], 9)}"
                     f"{fmt(r['cpu_us_per_cue_total'], 9)}{fmt(r['throughput_per_s'], 9)}  {per}")
    if result.get("ratios"):
        lines += ["", "Oscar divided by each baseline (same run):",
                  f"{'proto':6}{'rate':>6} {'against':8}{'p50':>7}{'p99':>7}{'cpu/cue':>9}"]
        for r in sorted(result["ratios"], key=lambda r: (r["proto"] != "udp", r["proto"],
                                                         ORDER.index(r["rate"]))):
            lines.append(f"{r['proto']:6}{r['rate']:>6} {r['against']:8}"
                         f"{fmt(r.get('p50_us'), 7)}{fmt(r.get('p99_us'), 7)}"
                         f"{fmt(r.get('cpu_us_per_cue_total'), 9)}")
    for s in result.get("scale", []):
        rss = ", ".join(f"{k} {v} MB" for k, v in s["rss_mb"].items())
        lines += ["", f"scale {s['devices']} devices: all ready {s['ready_seconds']} s after "
                  f"`oscar import`; idle {s['idle_cpu_pct']} % of one core over "
                  f"{s['idle_seconds']} s; RSS {rss}"]
        if "ready_cpu_seconds" in s:
            lines.append(f"  CPU until ready: {_per_type(s['ready_cpu_seconds'], ' s')}")
        lines.append(f"  idle CPU: {_per_type(s['idle_cpu_pct_per_process_type'], ' %')}")
        if "load" in s:
            ld = s["load"]
            lines.append(f"  {ld['rate']} cues/s over {s['devices']} devices for {ld['seconds']} s "
                         f"(offered {ld['offered_per_s']}/s): {ld['lost']} of {ld['sent']} lost, "
                         f"p50 {ld['p50_us']} µs, p99 {ld['p99_us']} µs")
    rec = result.get("recovery")
    if rec:
        respawn = rec["actor_kill"].get("respawn_s")
        lines += ["", f"recovery: actor kill -9 -> device reconnected in "
                  f"{rec['actor_kill']['reconnect_s']} s"
                  + (f" (started again by supervisord after {respawn} s)" if respawn is not None
                     else "")
                  + f", {rec['actor_kill']['lost']} of "
                  f"{rec['actor_kill']['sent']} cues lost at {rec['actor_kill']['rate']}/s; "
                  f"device back after {rec['device_back']['down_s']} s away -> reconnected "
                  f"{rec['device_back']['reconnect_s']} s after it listened again"]
    profile = result.get("profile", {})
    for who, top in profile.get("top", {}).items():
        busy = profile.get("busy_pct", {}).get(who)
        lines += ["", f"py-spy top 10 of {who} at {profile['rate']} cues/s, busy {busy} % of "
                  f"the time (cumulative % of its non-idle samples):"]
        lines += [f"  {row['cumulative_pct']:5.1f} %  self {row['self_pct']:5.1f} %  "
                  f"{row['function']}" for row in top]
        by_self = profile.get("top_self", {}).get(who, [])
        if by_self:
            lines.append("  by self time: " + ", ".join(
                f"{row['function'].split(' (')[0]} {row['self_pct']} %" for row in by_self))
    return "\n".join(lines)


def plot(result: dict, path: Path) -> Path | None:
    """p50 and p99 per rate, one line per system, UDP in; None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: no plot (pip install -e '.[bench]')")
        return None
    rows = [r for r in result.get("summary", []) if r["proto"] == "udp"]
    systems = sorted({r["system"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, key in zip(axes, ("p50_us", "p99_us"), strict=True):
        for system in systems:
            points = sorted(((ORDER.index(r["rate"]), r[key]) for r in rows
                             if r["system"] == system and r[key] is not None))
            if points:
                axis.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                          label=system, linewidth=2.5 if system == "oscar" else 1.2)
        axis.set_xticks(range(len(ORDER)), [f"{r}/s" if r != "max" else r for r in ORDER])
        axis.set_yscale("log")
        axis.set_title(f"{key.split('_')[0]} latency, UDP in, one device")
        axis.set_xlabel("cues per second")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("µs, OSC sent -> bytes at the device")
    axes[1].legend()
    fig.suptitle(f"Oscar and baselines ({result['meta']['mode']} run, "
                 f"{result['meta']['started']})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def markdown(result: dict) -> str:
    """The summary and ratios as Markdown tables, for docs/performance.md."""
    out = ["| in | rate/s | system | sent | lost | p50 µs | p99 µs | max µs | CPU µs/cue "
           "| CPU µs/cue per process |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(result["summary"],
                    key=lambda r: (r["proto"] != "udp", r["proto"], ORDER.index(r["rate"]),
                                   r["system"] != "oscar", r["system"])):
        per = ", ".join(f"{k} {v}" for k, v in r["cpu_us_per_cue"].items()) or "-"
        name = f"**{r['system']}**" if r["system"] == "oscar" else r["system"]
        out.append(f"| {r['proto']} | {r['rate']} | {name} | {r['sent']} | {r['lost']} "
                   f"| {r['p50_us']} | {r['p99_us']} | {r['max_us']} "
                   f"| {r['cpu_us_per_cue_total']} | {per} |")
    out += ["", "| in | rate/s | Oscar ÷ | p50 | p99 | CPU/cue |", "|---|---|---|---|---|---|"]
    for r in sorted(result["ratios"], key=lambda r: (r["proto"] != "udp", r["proto"],
                                                     ORDER.index(r["rate"]))):
        out.append(f"| {r['proto']} | {r['rate']} | {r['against']} | {r.get('p50_us', '-')} "
                   f"| {r.get('p99_us', '-')} | {r.get('cpu_us_per_cue_total', '-')} |")
    return "\n".join(out)


if __name__ == "__main__":
    import json
    import sys

    data = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else
                           Path(__file__).parent / "results" / "bench.json").read_text())
    print(markdown(data))
    import bench_targets
    print()
    print(bench_targets.markdown(data))
    print(table({k: v for k, v in data.items() if k not in ("summary", "ratios")}))
