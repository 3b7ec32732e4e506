"""The benchmark's arithmetic: delivery counts from a device's arrivals, the profile's top
functions from py-spy's collapsed stacks, and the idle window."""

import sys

from tests.support import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from bench import stats  # noqa: E402
from bench_profile import top  # noqa: E402
from bench_scale import idle_window  # noqa: E402

from oscar.processes.registry import SNAPSHOT_EVERY  # noqa: E402


def test_stats_counts_lost_reordered_and_duplicated_cues():
    # [port, seq, sent_ns, arrival_ns]; cue 2 never arrives, 3 overtakes 1, 3 comes twice.
    arrivals = [[1, 0, 0, 100_000], [1, 3, 0, 200_000], [1, 1, 0, 300_000],
                [1, 3, 0, 400_000]]
    row = stats(4, arrivals)
    assert (row["sent"], row["delivered"], row["lost"]) == (4, 3, 1)
    assert row["reordered"] == 1 and row["duplicated"] == 1
    assert (row["p50_us"], row["max_us"]) == (200.0, 300.0)


def test_stats_of_nothing_delivered():
    row = stats(5, [])
    assert row["lost"] == 5 and row["p50_us"] is None


def test_profile_top_merges_lines_and_skips_the_entry_chain():
    collapsed = ("main (a.py:1);run (a.py:5);decode (b.py:10) 30\n"
                 "main (a.py:1);run (a.py:6);decode (b.py:12);pad (b.py:40) 10\n"
                 "main (a.py:1);run (a.py:7);send (c.py:3) 60\n")
    samples, rows = top(collapsed)
    assert samples == 100
    by_name = {row["function"]: row for row in rows}
    assert "main (a.py)" not in by_name and "run (a.py)" not in by_name
    assert by_name["decode (b.py)"] == {"function": "decode (b.py)", "cumulative_pct": 40.0,
                                        "self_pct": 30.0}
    assert rows[0]["function"] == "send (c.py)"


def test_the_idle_window_holds_whole_beacon_periods():
    # An idle Oscar's work comes with each beacon: 10 s held two or three of them by phase.
    assert idle_window(10) == 2 * SNAPSHOT_EVERY
    assert idle_window(20) == 4 * SNAPSHOT_EVERY
    assert idle_window(0.5) == SNAPSHOT_EVERY  # never an empty window
