"""Load generator, in its own process: numbered cues stamped with their send time.

    loadgen.py PROTO HOST PORT RATE SECONDS [--address /device/bench/message] [--devices N]

PROTO is ``udp`` (one OSC datagram per cue), ``slip`` or ``lp`` (OSC over one TCP connection,
SLIP-framed or 32-bit length-prefixed) or ``text`` (the rendered text + CR straight to a TCP
device: the "direct" baseline). Each cue is an OSC message with one string argument
``seq:<n>:<ns>``: n counts from 0, ns is time.monotonic_ns() (CLOCK_MONOTONIC, shared by every
process on the machine) read just before that cue is written.

RATE cues a second (0: as fast as possible) for SECONDS. Pacing: each cue has a due time; the
generator sleeps while the next one is more than 0.3 ms away, then spins. Above 2000 cues
a second it sends in batches: every cue due within the next half millisecond goes out at once
(each stamped as it is written), and it sleeps between batches without spinning: it stands
in for a show controller on another machine, and its spinning took CPU from the system
under test (a third of a core at 50 000/s).

Prints one JSON line at the end: {"sent", "start_ns", "end_ns", "send_errors"}.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time

SLIP_END = b"\xc0"


def osc_prefix(address: str) -> bytes:
    def pad(raw: bytes) -> bytes:
        return raw + b"\x00" * (4 - len(raw) % 4)
    return pad(address.encode()) + pad(b",s")


def cue(prefix: bytes, seq: int) -> bytes:
    text = b"seq:%d:%d" % (seq, time.monotonic_ns())
    return prefix + text + b"\x00" * (4 - len(text) % 4)


def make_sender(proto: str, host: str, port: int, address: str, devices: int = 1):
    """A function seq -> None writing cue ``seq`` (the OSC string padded as OSC needs). With
    ``devices`` > 1, ``address`` holds a {} for the device number and cue n goes to n % devices.
    """
    prefix = osc_prefix(address.format(0))
    if proto == "udp" and devices > 1:
        prefixes = [osc_prefix(address.format(i)) for i in range(devices)]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host, port))
        send = sock.send
        return lambda seq: send(cue(prefixes[seq % devices], seq))
    if proto == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host, port))
        send = sock.send
        return lambda seq: send(cue(prefix, seq))
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sendall = sock.sendall
    if proto == "slip":  # no byte of a cue needs escaping (ASCII and NULs only)
        return lambda seq: sendall(SLIP_END + cue(prefix, seq) + SLIP_END)
    if proto == "lp":
        def send_lp(seq: int) -> None:
            packet = cue(prefix, seq)
            sendall(len(packet).to_bytes(4, "big") + packet)
        return send_lp
    if proto == "text":
        return lambda seq: sendall(b"seq:%d:%d\r" % (seq, time.monotonic_ns()))
    raise SystemExit(f"unknown protocol {proto!r}")


def run(send, rate: int, seconds: float) -> dict:
    errors = 0
    start = time.monotonic_ns()
    if rate <= 0:  # as fast as possible, for the whole duration
        end_at = start + int(seconds * 1e9)
        seq = 0
        while True:
            for _ in range(100):
                try:
                    send(seq)
                except OSError:
                    errors += 1
                seq += 1
            if time.monotonic_ns() >= end_at:
                break
        return {"sent": seq, "start_ns": start, "end_ns": time.monotonic_ns(),
                "send_errors": errors}
    total = int(rate * seconds)
    period = 1e9 / rate
    ahead = 500_000 if rate > 2000 else 0  # batch: send what is due within 0.5 ms
    seq = 0
    while seq < total:
        due = start + int(seq * period)
        wait = due - ahead - time.monotonic_ns()
        if wait > 0 and ahead:
            time.sleep(wait / 1e9)  # a batch goes a little late, never early: no spinning
            continue
        if wait > 300_000:
            time.sleep((wait - 200_000) / 1e9)
            continue
        if wait > 0:
            continue  # spin the last stretch
        limit = time.monotonic_ns() + ahead
        while seq < total and start + int(seq * period) <= limit:
            try:
                send(seq)
            except OSError:
                errors += 1
            seq += 1
    return {"sent": seq, "start_ns": start, "end_ns": time.monotonic_ns(), "send_errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proto", choices=["udp", "slip", "lp", "text"])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("rate", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--address", default="/device/bench/message")
    parser.add_argument("--devices", type=int, default=1,
                        help="UDP only: spread the cues over ADDRESS.format(0..N-1)")
    args = parser.parse_args()
    send = make_sender(args.proto, args.host, args.port, args.address, args.devices)
    result = run(send, args.rate, args.seconds)
    time.sleep(0.05)  # let a TCP connection's last bytes leave before it closes
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
