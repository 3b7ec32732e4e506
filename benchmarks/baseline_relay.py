"""Baseline: the simplest possible OSC-to-TCP bridge, one Python process.

    baseline_relay.py PROTO IN_PORT DEVICE_PORT     (PROTO: udp, or tcp for SLIP/length prefix)

OSC in (relay_inlet.py), python-osc parse, text + CR written to one TCP connection. No ZeroMQ,
no actors, no TTL, no reconnects: what Oscar's fault isolation is measured against.
"""

import socket
import sys

from relay_inlet import packets, render


def main() -> None:
    proto, in_port, device_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    device = socket.create_connection(("127.0.0.1", device_port))
    device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for packet in packets(proto, in_port, lambda: print("ready", flush=True)):
        device.sendall(render(packet))


if __name__ == "__main__":
    main()
