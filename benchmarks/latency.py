"""End-to-end latency: OSC datagram sent -> bytes at the device, at a steady cue rate.

Measures Oscar (listener -> ZeroMQ -> device actor -> TCP) and, in the same run on the same
machine, a one-process baseline relay (baseline_relay.py), and reports both and their ratio.
Also reports the resident memory of one idle device actor.

    python benchmarks/latency.py [--rate 1000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support import OscarSystem, free_port, osc_message  # noqa: E402


class TimingDevice:
    """benchmarks/timing_device.py as a subprocess."""

    def __enter__(self) -> TimingDevice:
        script = REPO / "benchmarks" / "timing_device.py"
        self.proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        return self

    def arrivals(self) -> dict[str, float]:
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out)

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def paced_send(send, rate: int, seconds: float) -> dict[str, float]:
    """Send ``rate`` cues a second for ``seconds`` at even spacing; returns send times."""
    total = int(rate * seconds)
    sent: dict[str, float] = {}
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        text = f"CUE {i}"
        sent[text] = time.perf_counter()
        send(text)
    return sent


def percentiles(sent: dict[str, float], arrivals: dict[str, float]) -> dict[str, float]:
    latencies = sorted((arrivals[k] - t) * 1000 for k, t in sent.items() if k in arrivals)
    if not latencies:
        return {"received": 0}
    return {
        "received": len(latencies),
        "lost": len(sent) - len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": latencies[-1],
    }


def udp_sender(port: int):
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(text: str) -> None:
        sock.sendto(osc_message("/device/bench/message", text), ("127.0.0.1", port))
    return send


def measure(send, device: TimingDevice, rate: int, seconds: float) -> dict[str, float]:
    sent = paced_send(send, rate, seconds)
    time.sleep(1.0)  # stragglers; anything later than this counts as lost
    return percentiles(sent, device.arrivals())


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run(rate: int, seconds: float) -> dict:
    results: dict = {"rate_per_s": rate, "seconds": seconds}
    # Baseline first: a one-process relay.
    with TimingDevice() as device:
        port = free_port()
        relay = subprocess.Popen([sys.executable, str(REPO / "benchmarks" / "baseline_relay.py"),
                                  str(port), str(device.port)], stdout=subprocess.PIPE, text=True)
        try:
            assert relay.stdout is not None and relay.stdout.readline().strip() == "ready"
            results["baseline"] = measure(udp_sender(port), device, rate, seconds)
        finally:
            relay.kill()
            relay.wait()
    # Oscar, whole system under supervisord, at INFO logging like a show.
    with TimingDevice() as device, OscarSystem({"OSCAR_LOG_LEVEL": "INFO"}) as oscar:
        oscar.add_device("bench", device.port)
        oscar.wait_state("bench", "connected")
        actor_pid = oscar.pid_of("oscar-device-bench")
        time.sleep(1.0)  # let start-up settle before reading idle memory
        results["idle_actor_rss_kb"] = rss_kb(actor_pid)
        results["oscar"] = measure(udp_sender(oscar.osc_port), device, rate, seconds)
        results["oscar_status"] = {k: oscar.device_status("bench")[k]
                                   for k in ("sent", "dropped")}
    base, ours = results["baseline"], results["oscar"]
    results["ratio_p50"] = ours["p50_ms"] / base["p50_ms"]
    results["ratio_p99"] = ours["p99_ms"] / base["p99_ms"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    results = run(args.rate, args.seconds)
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latency.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
