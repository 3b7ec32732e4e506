"""Baseline: a minimal two-process Python + ZeroMQ relay, Oscar's shape without its features.

    baseline_zmq_relay.py PROTO IN_PORT DEVICE_PORT

Process 1 (this one): OSC in (relay_inlet.py), python-osc parse, text PUSHed over ipc://.
Process 2 (started by process 1, ``--sink``): PULL, write to one TCP connection to the device.
No acks, no TTL, no registry: the cost floor of crossing one process boundary with ZeroMQ.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile

import zmq
from relay_inlet import packets, render


def sink(endpoint: str, device_port: int) -> None:
    device = socket.create_connection(("127.0.0.1", device_port))
    device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pull = zmq.Context().socket(zmq.PULL)
    pull.connect(endpoint)
    print("ready", flush=True)
    while True:
        device.sendall(pull.recv())


def main() -> None:
    if sys.argv[1] == "--sink":
        sink(sys.argv[2], int(sys.argv[3]))
        return
    proto, in_port, device_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the clean-up below
    folder = tempfile.mkdtemp(prefix="zrelay-", dir="/tmp")
    endpoint = f"ipc://{folder}/relay"
    push = zmq.Context().socket(zmq.PUSH)
    push.bind(endpoint)
    child = subprocess.Popen([sys.executable, __file__, "--sink", endpoint, str(device_port)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        for packet in packets(proto, in_port, lambda: print("ready", flush=True)):
            push.send(render(packet))
    finally:
        child.kill()
        child.wait()
        os.unlink(f"{folder}/relay")
        os.rmdir(folder)


if __name__ == "__main__":
    main()
