"""supervisord program oscar-listener: the OSC server (UDP, and TCP with SLIP or length prefix).

Forwards /device/NAME/message cues to device actors. Keeps running, with the desired state it
last saw, while the registry is down.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

import zmq

from oscar import desired_state, logsetup, zmqutil
from oscar import settings as settings_mod
from oscar.forwarder import Forwarder
from oscar.framing import FramingError, StreamDecoder
from oscar.messages import ConfigSnapshot, DeviceConfig, ListenerStatus

log = logging.getLogger("oscar.listener")
MAX_TCP_CLIENTS = 64
HEARTBEAT = 2.0


class TcpClient:
    def __init__(self, sock: socket.socket, address: str):
        self.sock = sock
        self.address = address
        self.decoder = StreamDecoder()


def _bind(settings: settings_mod.Settings) -> tuple[socket.socket, socket.socket]:
    family = socket.AF_INET6 if ":" in settings.osc_host else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    udp.bind((settings.osc_host, settings.osc_udp_port))
    udp.setblocking(False)
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((settings.osc_host, settings.osc_tcp_port))
    tcp.listen(16)
    tcp.setblocking(False)
    return udp, tcp


def _peer(address: tuple) -> str:
    return f"{address[0]}:{address[1]}"


def run() -> int:
    settings = settings_mod.load()
    try:
        udp, server = _bind(settings)
    except OSError as exc:
        log.error("cannot listen for OSC on %s UDP %s / TCP %s: %s (set OSCAR_OSC_PORT)",
                  settings.osc_host, settings.osc_udp_port, settings.osc_tcp_port, exc)
        return 1
    ctx = zmq.Context()
    events = zmqutil.socket(ctx, zmq.PUSH, SNDHWM=10_000)
    events.connect(settings.events)
    config = zmqutil.socket(ctx, zmq.SUB)
    config.connect(settings.publish)
    for prefix in (b"config.device.", ConfigSnapshot([], 0).topic()):
        config.setsockopt(zmq.SUBSCRIBE, prefix)
    forwarder = Forwarder(ctx, settings, events)
    known = desired_state.read(settings.desired_state_path)
    if known is not None:
        forwarder.set_devices(*known)
    clients: dict[socket.socket, TcpClient] = {}
    stop = zmqutil.StopFlag()
    heartbeat_due = 0.0
    log.info("listening for OSC on %s UDP %d, TCP %d", settings.osc_host,
             settings.osc_udp_port, settings.osc_tcp_port)
    try:
        while not stop.stop:
            poller = zmq.Poller()
            for sock in (udp, server, config):
                poller.register(sock, zmq.POLLIN)
            for sock in clients:
                poller.register(sock, zmq.POLLIN)
            for link in forwarder.links.values():
                poller.register(link.sock, zmq.POLLIN)
                poller.register(link.monitor, zmq.POLLIN)
            # Commands waiting for an actor that is away are retried often; otherwise idle.
            # pyzmq reports plain sockets by file descriptor, ZeroMQ sockets by object.
            ready = dict(poller.poll(timeout=20 if forwarder.waiting else 500))
            if udp.fileno() in ready:
                _read_udp(udp, forwarder)
            if server.fileno() in ready:
                _accept(server, clients, forwarder)
            for sock in [s for s in clients if s.fileno() in ready]:
                _read_tcp(clients, sock, forwarder)
            for link in list(forwarder.links.values()):
                if link.monitor in ready:
                    link.on_monitor()
                if link.sock in ready:
                    link.on_readable()
            forwarder.housekeeping(time.time())
            if config in ready:
                for message in zmqutil.drain(config, forwarder.counters):
                    if isinstance(message, (DeviceConfig, ConfigSnapshot)):
                        forwarder.apply(message)
            if time.monotonic() >= heartbeat_due:
                heartbeat_due = time.monotonic() + HEARTBEAT
                zmqutil.send(events, ListenerStatus(
                    pid=os.getpid(), udp_port=settings.osc_udp_port,
                    tcp_port=settings.osc_tcp_port, counters=dict(forwarder.counters)))
    finally:
        for sock in [udp, server, *clients]:
            sock.close()
        forwarder.close()
        config.close(linger=0)
        events.close(linger=0)
        ctx.term()
    log.info("listener stopped")
    return 0


def _read_udp(udp: socket.socket, forwarder: Forwarder) -> None:
    for _ in range(256):  # bounded, so TCP clients and config get their turn in a flood
        try:
            packet, address = udp.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # e.g. ICMP errors surfacing on the socket
            log.debug("udp receive error: %s", exc)
            return
        forwarder.handle_packet(packet, _peer(address))


def _accept(server: socket.socket, clients: dict, forwarder: Forwarder) -> None:
    try:
        sock, address = server.accept()
    except OSError:
        return
    peer = _peer(address)
    if len(clients) >= MAX_TCP_CLIENTS:
        forwarder.reject("tcp_rejected", f"too many OSC TCP connections ({MAX_TCP_CLIENTS})",
                         peer)
        sock.close()
        return
    sock.setblocking(False)
    clients[sock] = TcpClient(sock, peer)
    forwarder.counters["tcp_connections"] += 1
    log.info("OSC TCP connection from %s", peer)


def _read_tcp(clients: dict, sock: socket.socket, forwarder: Forwarder) -> None:
    client = clients[sock]
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return
    except OSError as exc:
        data = b""
        log.info("OSC TCP connection from %s failed: %s", client.address, exc)
    received_at = time.time()
    try:
        frames = client.decoder.feed(data) if data else []
    except FramingError as exc:  # length prefix out of range: no way to resynchronise
        forwarder.reject("framing_errors", f"{exc}; closing connection", client.address)
        data = b""
        frames = []
    for frame in frames:
        if isinstance(frame, FramingError):
            forwarder.reject("framing_errors", str(frame), client.address)
        else:
            forwarder.handle_packet(frame, client.address, received_at)
    if not data:
        del clients[sock]
        sock.close()
        log.info("OSC TCP connection from %s closed", client.address)


def main() -> int:
    logsetup.configure("oscar-listener")
    return run()


if __name__ == "__main__":
    sys.exit(main())
