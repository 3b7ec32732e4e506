"""The benchmark suite itself (benchmarks/bench.py) still runs and still tells the truth: one
tiny rate against the direct baseline and the one-process relay gives a well-formed result
with every cue delivered. The long runs are `make bench` and `make bench FULL=1`."""

import json
import subprocess
import sys

from tests.support import REPO


def test_bench_suite_runs_one_tiny_rate(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench.py"), "--systems", "direct,relay1",
         "--protos", "udp,slip", "--rates", "100", "--tcp-rates", "100", "--seconds", "0.5",
         "--reps", "1", "--scale", "none", "--no-recovery", "--quiet-seconds", "3",
         "--out", str(out)],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    rows = {(r["system"], r["proto"]): r for r in result["summary"]}
    assert set(rows) == {("direct", "udp"), ("relay1", "udp"), ("direct", "slip"),
                         ("relay1", "slip")}
    for row in rows.values():
        assert row["sent"] == 50 and row["delivered"] == 50 and row["lost"] == 0, row
        assert row["duplicated"] == 0 and row["reordered"] == 0, row
        assert 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"], row
    # The relay is charged its own CPU; the direct baseline has no process in between.
    assert rows["relay1", "udp"]["cpu_us_per_cue"]["relay1"] > 0
    assert rows["direct", "udp"]["cpu_us_per_cue"] == {}
    # The table on stdout names both systems.
    assert "relay1" in done.stdout and "direct" in done.stdout
