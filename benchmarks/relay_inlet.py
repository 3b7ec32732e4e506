"""What the baseline relays receive: OSC packets over UDP, or over one TCP connection framed
with SLIP or a 32-bit length prefix (told apart by the first byte, as OSC 1.0/1.1 peers do).

Deliberately minimal (no SLIP escapes, no size limits): a baseline, not a product.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from pythonosc.osc_packet import OscPacket


def render(packet: bytes) -> bytes:
    """Every message's arguments as text + CR, as Oscar renders a plain cue."""
    return b"".join(" ".join(str(a) for a in timed.message.params).encode() + b"\r"
                    for timed in OscPacket(packet).messages)


def packets(proto: str, port: int, ready) -> Iterator[bytes]:
    if proto == "udp":
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        udp.bind(("127.0.0.1", port))
        ready()
        while True:
            yield udp.recv(65536)
    server = socket.create_server(("127.0.0.1", port))
    ready()
    while True:
        conn, _ = server.accept()
        buffer = b""
        while data := conn.recv(262144):
            buffer += data
            if buffer[:1] == b"\x00":  # length prefix
                while len(buffer) >= 4 and len(buffer) >= 4 + int.from_bytes(buffer[:4], "big"):
                    size = int.from_bytes(buffer[:4], "big")
                    yield buffer[4:4 + size]
                    buffer = buffer[4 + size:]
            else:  # SLIP, END before and after each packet
                *frames, buffer = buffer.split(b"\xc0")
                yield from (frame for frame in frames if frame)
        conn.close()
