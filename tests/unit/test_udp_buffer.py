"""The OSC UDP socket's receive buffer and the kernel's drop count for it (real sockets)."""

from __future__ import annotations

import socket
import sys

import pytest

from oscar import udp_buffer


@pytest.fixture
def udp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def test_the_buffer_granted_is_reported_and_advice_names_the_sysctl(udp):
    granted = udp_buffer.size_receive_buffer(udp, wanted=2 * 1024 * 1024)
    assert granted > 0
    assert udp_buffer.advice(granted, wanted=granted) == ""
    text = udp_buffer.advice(granted, wanted=granted * 4)
    assert f"{granted // 1024} KiB" in text
    if sys.platform == "linux":
        assert f"net.core.rmem_max={granted * 4}" in text


@pytest.mark.skipif(sys.platform != "linux", reason="/proc/net/udp is Linux's")
def test_datagrams_that_do_not_fit_are_counted_as_kernel_drops(udp):
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the smallest Linux allows
    drops = udp_buffer.KernelDrops(udp)
    assert drops.read() == 0
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(200):  # nobody reads: the buffer fills after a few
            sender.sendto(b"x" * 512, udp.getsockname())
    finally:
        sender.close()
    assert drops.read() > 100


def test_a_closed_or_unknown_socket_reads_none():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    drops = udp_buffer.KernelDrops(sock)  # never bound: not in /proc/net/udp
    sock.close()
    assert drops.read() is None
