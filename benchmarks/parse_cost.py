"""Parse cost per OSC message: python-osc's OscPacket (what main used before issue 7) against
Oscar's strict decoder, alone and with routing and rendering (what the listener does per cue).

    python benchmarks/parse_cost.py [--number 5000] [--repeat 25]

Prints a table and writes benchmarks/results/parse_cost.json. Times are the best of
``--repeat`` interleaved rounds of ``--number`` calls (the least disturbed by other processes),
divided by the number of messages in the packet, in microseconds of this process's CPU time.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import timeit
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pythonosc.osc_packet import OscPacket  # noqa: E402

from oscar.osc_decode import decode_packet  # noqa: E402
from oscar.osc_routing import command_bytes, route  # noqa: E402

# Byte literals of what QLab sends (see tests/unit/osc_corpus.py for how they are padded).
CUE = b"/device/proj1/message\x00\x00\x00,s\x00\x00%1POWR 1\x00\x00\x00\x00"
CUE_3_ARGS = (b"/device/sw/message\x00\x00,sif\x00\x00\x00\x00SET\x00"
              b"\x00\x00\x00\x03=\xcc\xcc\xcd")
BUNDLE = (b"#bundle\x00\x00\x00\x00\x00\x00\x00\x00\x01"
          + len(CUE).to_bytes(4, "big") + CUE
          + len(CUE_3_ARGS).to_bytes(4, "big") + CUE_3_ARGS)
CASES = {"qlab_cue": (CUE, 1), "cue_3_args": (CUE_3_ARGS, 1), "bundle_of_2": (BUNDLE, 2)}


def python_osc(packet: bytes) -> None:
    OscPacket(packet)


def decode_only(packet: bytes) -> None:
    decode_packet(packet)


def full_path(packet: bytes) -> None:
    for message in decode_packet(packet):
        command_bytes(route(message), "utf-8")


def run(number: int, repeat: int) -> dict:
    results: dict = {"python": platform.python_version(), "number": number, "repeat": repeat,
                     "unit": "microseconds per message", "cases": {}}
    kinds = {"python_osc_parse": python_osc, "oscar_decode": decode_only,
             "oscar_decode_route_render": full_path}
    # CPU time of this process, not wall time: other processes on a busy machine do not count.
    # The measurements are interleaved, round after round, and the best round of each kept, so
    # a slow spell of the machine hits every column alike.
    timers = {(case, kind): timeit.Timer(lambda f=function, p=packet: f(p),
                                         timer=time.process_time)
              for case, (packet, _) in CASES.items() for kind, function in kinds.items()}
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(repeat):
        for key, timer in timers.items():
            best[key] = min(best[key], timer.timeit(number))
    for case, (_, messages) in CASES.items():
        row = {kind: best[(case, kind)] / number / messages * 1e6 for kind in kinds}
        row["speedup_decode"] = row["python_osc_parse"] / row["oscar_decode"]
        results["cases"][case] = row
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()
    results = run(args.number, args.repeat)
    print(f"parse cost per message (us, best of {args.repeat} x {args.number}):")
    print(f"{'case':<14}{'python-osc':>12}{'decode':>10}{'+route+render':>15}{'speedup':>9}")
    for name, row in results["cases"].items():
        print(f"{name:<14}{row['python_osc_parse']:>12.2f}{row['oscar_decode']:>10.2f}"
              f"{row['oscar_decode_route_render']:>15.2f}{row['speedup_decode']:>8.1f}x")
    out = REPO / "benchmarks" / "results" / "parse_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
