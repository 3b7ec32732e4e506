"""``oscar send``: a real OSC message to the listener, the way QLab sends one."""

from __future__ import annotations

import socket

from pythonosc.osc_message_builder import OscMessageBuilder

from oscar.framing import slip_encode


def build(device: str, words: list[str], verb: str = "message") -> bytes:
    builder = OscMessageBuilder(address=f"/device/{device}/{verb}")
    for word in words:
        builder.add_arg(word, OscMessageBuilder.ARG_TYPE_STRING)
    return builder.build().dgram


def send(packet: bytes, host: str, port: int, tcp: bool = False) -> None:
    if tcp:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(slip_encode(packet))
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(packet, (host, port))
