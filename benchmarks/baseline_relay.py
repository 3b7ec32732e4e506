"""Baseline for the latency benchmark: the simplest possible OSC-to-TCP bridge, one process.

    baseline_relay.py UDP_PORT DEVICE_PORT

UDP in, python-osc parse, text + CR written to one TCP connection. No ZeroMQ, no actors, no
TTL, no reconnects: what Oscar's fault isolation is measured against.
"""

import socket
import sys

from pythonosc.osc_packet import OscPacket


def main() -> None:
    udp_port, device_port = int(sys.argv[1]), int(sys.argv[2])
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", udp_port))
    device = socket.create_connection(("127.0.0.1", device_port))
    device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("ready", flush=True)
    while True:
        packet, _ = udp.recvfrom(65536)
        for timed in OscPacket(packet).messages:
            text = " ".join(str(a) for a in timed.message.params)
            device.sendall(text.encode() + b"\r")


if __name__ == "__main__":
    main()
