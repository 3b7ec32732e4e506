"""Chaos: random kill -9 of actors, listener and registry and device drops under a steady stream
of numbered cues. The short run is part of every test run; the long one (about 3 minutes) runs
with ``pytest -m chaos`` and writes its report to benchmarks/results/chaos.json.
"""

from pathlib import Path

import pytest

from tests.integration.chaos import ChaosRun, summary_table, write_report

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def check_promises(report: dict) -> None:
    for name, row in report["per_device"].items():
        assert row["sent"] > 0, f"{name}: no cue was sent"
        # Every cue sent while the listener was alive arrives: actor and registry kills and
        # device drops lose nothing.
        assert row["lost_listener_alive"] == 0, (name, row["lost_examples"])
        assert row["stale"] == 0, f"{name}: cues arrived more than TTL after they were sent"
        assert row["torn"] == 0, f"{name}: torn or unknown bytes at the device"


def test_short_chaos_run_loses_no_cue_while_the_listener_is_alive(oscar):
    run = ChaosRun(oscar, devices=2, rate=30, seconds=16, kill_every=(1.5, 2.5), seed=7,
                   script=["actor", "drop", "listener", "registry", "actor"])
    try:
        report = run.run()
    finally:
        run.stop_devices()
    print(summary_table(report))
    check_promises(report)


@pytest.mark.chaos
def test_long_chaos_run(oscar):
    run = ChaosRun(oscar, devices=4, rate=40, seconds=180, kill_every=(2.0, 5.0))
    try:
        report = run.run()
    finally:
        run.stop_devices()
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_report(report, str(RESULTS / "chaos.json"))
    print(summary_table(report))
    check_promises(report)
