"""supervisord program oscar-listener: the OSC server (UDP, and TCP with SLIP or length prefix).

Forwards cues to device actors (see oscar.forwarder), holds bundles dated in the future until
they are due, and answers ``oscar send``'s receipt requests. Keeps running, with the desired
state it last saw, while the registry is down.

One poll loop, one persistent poller: sockets are registered when they appear and unregistered
when they go. The poll timeout shrinks to the next scheduled cue or TCP idle deadline, so a
scheduled cue is never waited for by sleeping.
"""

from __future__ import annotations

import logging
import math
import os
import resource
import socket
import sys
import time

import zmq

from oscar import desired_state, logsetup, zmqutil
from oscar import lifeline as lifeline_mod
from oscar import settings as settings_mod
from oscar.actor_link import ActorLink
from oscar.allow_list import AllowList
from oscar.forwarder import Forwarder
from oscar.framing import FramingError, StreamDecoder, length_prefix_encode, slip_encode
from oscar.messages import ConfigSnapshot, DeviceConfig, ListenerStatus
from oscar.tcp_clients import ClientTable

log = logging.getLogger("oscar.listener")
HEARTBEAT = 2.0
IDLE_POLL = 0.5  # seconds; well below the lifeline's stall limit
RETRY_POLL = 0.02  # while commands wait for an actor that is away
LISTEN_BACKLOG = 512
ACCEPTS_PER_TURN = 64
UDP_PER_TURN = 256  # bounded, so TCP clients, config and due cues get their turn in a flood
_STALL_ON = lifeline_mod.stall_marker_for_tests()  # TEST ONLY: OSCAR_TEST_STALL_ON


class TcpClient:
    def __init__(self, sock: socket.socket, address: str):
        self.sock = sock
        self.fd = sock.fileno()
        self.address = address
        self.decoder = StreamDecoder()


class TcpSide:
    """Accepts, reads, answers and closes OSC TCP connections; admission by ClientTable."""

    def __init__(self, server: socket.socket, settings: settings_mod.Settings,
                 forwarder: Forwarder, allow: AllowList, poller: zmq.Poller):
        self.server = server
        self.forwarder = forwarder
        self.allow = allow
        self.poller = poller
        self.table = ClientTable(settings.osc_tcp_max_clients, settings.osc_tcp_idle_timeout)
        self.clients: dict[int, TcpClient] = {}  # by file descriptor, as the poller reports

    def accept(self) -> None:
        for _ in range(ACCEPTS_PER_TURN):
            try:
                sock, address = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: leave it queued, try again next turn
                if self.forwarder.limiter.allow("accept_error"):
                    log.warning("cannot accept OSC TCP connection: %s", exc)
                return
            peer = _peer(address)
            if not self.allow.allows(address[0]):
                self.forwarder.reject("not_allowed", f"OSC TCP connection from {peer} is not "
                                      "in osc_allow; closed", peer)
                sock.close()
                continue
            sock.setblocking(False)
            client = TcpClient(sock, peer)
            for fd in self.table.admit(client.fd, time.monotonic()):
                self.forwarder.counters["tcp_evicted"] += 1
                self._close(fd, "closed to make room for a new connection "
                            f"(osc_tcp_max_clients {self.table.max_clients})")
            self.clients[client.fd] = client
            self.poller.register(sock, zmq.POLLIN)
            self.forwarder.counters["tcp_connections"] += 1
            log.debug("OSC TCP connection from %s", peer)

    def read(self, fd: int) -> None:
        client = self.clients[fd]
        try:
            data = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            data = b""
            log.info("OSC TCP connection from %s failed: %s", client.address, exc)
        received_at = time.time()
        self.table.touch(fd, time.monotonic())
        try:
            frames = client.decoder.feed(data) if data else []
        except FramingError as exc:  # length prefix out of range: no way to resynchronise
            self.forwarder.reject("framing_errors", f"{exc}; closing connection",
                                  client.address)
            data = b""
            frames = []
        for frame in frames:
            if isinstance(frame, FramingError):
                self.forwarder.reject("framing_errors", str(frame), client.address)
                continue
            reply = self.forwarder.handle_packet(frame, client.address, received_at)
            if reply is not None:
                self._answer(client, reply)
        if not data:
            self._close(fd, "closed by peer")

    def _answer(self, client: TcpClient, reply: bytes) -> None:
        framed = (length_prefix_encode(reply) if client.decoder.mode == "length-prefix"
                  else slip_encode(reply))
        try:
            client.sock.send(framed)  # a few hundred bytes; a peer that does not read loses it
        except OSError:
            pass

    def close_idle(self) -> None:
        for fd in self.table.idle(time.monotonic()):
            self.forwarder.counters["tcp_idle_closed"] += 1
            self._close(fd, f"idle for {self.table.idle_timeout:g}s")

    def next_deadline(self) -> float | None:
        """Monotonic time when the oldest idle connection times out."""
        return self.table.next_deadline()

    def _close(self, fd: int, why: str) -> None:
        client = self.clients.pop(fd, None)
        self.table.remove(fd)
        if client is None:
            return
        self.poller.unregister(client.sock)
        client.sock.close()
        if self.forwarder.limiter.allow("tcp_close"):
            log.info("OSC TCP connection from %s %s", client.address, why)

    def close_all(self) -> None:
        for fd in list(self.clients):
            client = self.clients.pop(fd)
            client.sock.close()


def _bind(settings: settings_mod.Settings) -> tuple[socket.socket, socket.socket]:
    family = socket.AF_INET6 if ":" in settings.osc_host else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    tcp = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:  # "::" takes IPv4 peers too (seen as ::ffff:a.b.c.d)
        for sock in (udp, tcp):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    udp.bind((settings.osc_host, settings.osc_udp_port))
    udp.setblocking(False)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((settings.osc_host, settings.osc_tcp_port))
    tcp.listen(LISTEN_BACKLOG)
    tcp.setblocking(False)
    return udp, tcp


def _raise_fd_limit(wanted: int) -> None:
    """Every TCP client is a file descriptor: take what the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %s: %s", soft, exc)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        log.warning("open-file limit %s is below osc_tcp_max_clients + ZeroMQ's needs (%s)",
                    soft, wanted)


def _peer(address: tuple) -> str:
    return f"{address[0]}:{address[1]}"


def _poll_timeout(forwarder: Forwarder, tcp: TcpSide) -> int:
    """Milliseconds until the next thing the loop must do by itself."""
    wait = RETRY_POLL if forwarder.waiting else IDLE_POLL
    due = forwarder.next_due()
    if due is not None:
        wait = min(wait, due - time.time())
    deadline = tcp.next_deadline()
    if deadline is not None:
        wait = min(wait, deadline - time.monotonic())
    # Round up: waking a hair early would only cost a second turn, but never wake late.
    return max(0, math.ceil(wait * 1000))


def run() -> int:
    settings = settings_mod.load()
    lifeline = lifeline_mod.Lifeline("oscar-listener")
    _raise_fd_limit(settings.osc_tcp_max_clients + 256)
    allow = AllowList.parse(settings.osc_allow)
    try:
        udp, server = _bind(settings)
    except OSError as exc:
        log.error("cannot listen for OSC on %s UDP %s / TCP %s: %s (set OSCAR_OSC_PORT)",
                  settings.osc_host, settings.osc_udp_port, settings.osc_tcp_port, exc)
        return 1
    ctx = zmq.Context()
    events = zmqutil.socket(ctx, zmq.PUSH, SNDHWM=10_000)
    zmqutil.connect(events, settings.events, settings.home)
    config = zmqutil.socket(ctx, zmq.SUB, MAXMSGSIZE=zmqutil.MAX_CONFIG)
    zmqutil.connect(config, settings.publish, settings.home)
    for prefix in (b"config.device.", ConfigSnapshot([], 0).topic()):
        config.setsockopt(zmq.SUBSCRIBE, prefix)
    poller = zmq.Poller()
    for sock in (udp, server, config):
        poller.register(sock, zmq.POLLIN)
    links: dict[zmq.Socket, ActorLink] = {}  # link sockets and monitors -> their link

    def on_link(link: ActorLink, added: bool) -> None:
        for sock in (link.sock, link.monitor):
            if added:
                poller.register(sock, zmq.POLLIN)
                links[sock] = link
            else:
                poller.unregister(sock)
                links.pop(sock, None)

    forwarder = Forwarder(ctx, settings, events, on_link=on_link)
    tcp = TcpSide(server, settings, forwarder, allow, poller)
    known = desired_state.read(settings.desired_state_path)
    if known is not None:
        forwarder.set_devices(*known)
    udp_fd, server_fd = udp.fileno(), server.fileno()
    stop = zmqutil.StopFlag()
    heartbeat_due = 0.0
    log.info("listening for OSC on %s UDP %d, TCP %d; senders allowed: %s",
             settings.osc_host, settings.osc_udp_port, settings.osc_tcp_port, allow)
    try:
        while not stop.stop:
            lifeline.beat()
            ready = poller.poll(timeout=_poll_timeout(forwarder, tcp))
            forwarder.run_due(time.time())
            config_ready = False
            for sock, _ in ready:
                if sock == udp_fd:
                    _read_udp(udp, forwarder, allow)
                elif sock == server_fd:
                    tcp.accept()
                elif sock is config:
                    config_ready = True
                elif isinstance(sock, int):
                    if sock in tcp.clients:  # may have been evicted earlier in this turn
                        tcp.read(sock)
                else:
                    link = links.get(sock)
                    if link is None:
                        continue
                    if sock is link.monitor:
                        link.on_monitor()
                    else:
                        link.on_readable()
            forwarder.housekeeping(time.time())
            tcp.close_idle()
            if config_ready:
                for message in zmqutil.drain(config, forwarder.counters):
                    if isinstance(message, (DeviceConfig, ConfigSnapshot)):
                        forwarder.apply(message)
            if time.monotonic() >= heartbeat_due:
                heartbeat_due = time.monotonic() + HEARTBEAT
                zmqutil.send(events, ListenerStatus(
                    pid=os.getpid(), udp_port=settings.osc_udp_port,
                    tcp_port=settings.osc_tcp_port, counters=dict(forwarder.counters)))
    finally:
        lifeline.stop()
        tcp.close_all()
        udp.close()
        server.close()
        forwarder.close()
        config.close(linger=0)
        events.close(linger=0)
        ctx.term()
    log.info("listener stopped")
    return 0


def _read_udp(udp: socket.socket, forwarder: Forwarder, allow: AllowList) -> None:
    for _ in range(UDP_PER_TURN):
        try:
            packet, address = udp.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # e.g. ICMP errors surfacing on the socket
            log.debug("udp receive error: %s", exc)
            return
        if not allow.allows(address[0]):
            forwarder.reject("not_allowed", f"OSC from {address[0]} is not in osc_allow "
                             f"({len(packet)} bytes ignored)", _peer(address))
            continue
        if _STALL_ON and packet.startswith(_STALL_ON):  # test-only hook, off by default
            lifeline_mod.stall_forever()
        reply = forwarder.handle_packet(packet, _peer(address))
        if reply is not None:
            try:
                udp.sendto(reply, address)
            except OSError:
                pass  # the receipt is best effort; the CLI times out and says so


def main() -> int:
    logsetup.configure("oscar-listener")
    return run()


if __name__ == "__main__":
    sys.exit(main())
