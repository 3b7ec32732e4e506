"""supervisord program oscar-listener: the OSC server (UDP, and TCP with SLIP or length prefix).

Forwards cues to device actors (see oscar.forwarder), holds bundles dated in the future until
they are due, and answers ``oscar send``'s receipt requests. Keeps running, with the desired
state it last saw, while the registry is down.

Hosts feedback (oscar.feedback): device replies, states and errors from the registry's PUB
stream go out as OSC to the feedback targets and to the TCP client that sent the cue, and
``/device/NAME/query`` and ``/oscar/check`` are answered to the sender. Feedback never blocks
this loop: every socket is non-blocking and every outbox bounded (drops counted).

One poll loop, one persistent poller: sockets are registered when they appear and unregistered
when they go. The poll timeout shrinks to the next scheduled cue or TCP idle deadline, so a
scheduled cue is never waited for by sleeping.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import resource
import socket
import sys
import time

import zmq

from oscar import desired_state, event_poll, logsetup, udp_buffer, zmqutil
from oscar import lifeline as lifeline_mod
from oscar import settings as settings_mod
from oscar.actor_link import ActorLink
from oscar.allow_list import AllowList
from oscar.bounded import remember
from oscar.feedback import Feedback
from oscar.feedback_links import Links
from oscar.forwarder import Forwarder
from oscar.framing import FramingError, StreamDecoder, length_prefix_encode, slip_encode
from oscar.messages import (
    ActorStatus,
    ConfigBeacon,
    ConfigSnapshot,
    DeviceConfig,
    Event,
    FeedbackTargets,
    ListenerStatus,
)
from oscar.tcp_clients import ClientTable

log = logging.getLogger("oscar.listener")
HEARTBEAT = 2.0
IDLE_POLL = 0.5  # seconds; well below the lifeline's stall limit
LISTEN_BACKLOG = 512
ACCEPTS_PER_TURN = 64
UDP_PER_TURN = 256  # bounded, so TCP clients, config and due cues get their turn in a flood
CLIENT_OUTBUF = 64 * 1024  # bytes of answers and feedback waiting for one TCP client
FOLLOW_PER_TURN = 256  # events and statuses for feedback handled per turn, between cues
_STALL_ON = lifeline_mod.stall_marker_for_tests()  # TEST ONLY: OSCAR_TEST_STALL_ON


class TcpClient:
    def __init__(self, sock: socket.socket, address: str):
        self.sock = sock
        self.fd = sock.fileno()
        self.address = address
        self.decoder = StreamDecoder()
        self.outbuf = bytearray()  # what the kernel would not take yet (bounded)
        self.spoke = False  # has sent a packet: its framing is known, feedback may go to it


class TcpSide:
    """Accepts, reads, answers and closes OSC TCP connections; admission by ClientTable."""

    def __init__(self, server: socket.socket, settings: settings_mod.Settings,
                 forwarder: Forwarder, allow: AllowList, poller: event_poll.Poller):
        self.server = server
        self.forwarder = forwarder
        self.allow = allow
        self.poller = poller
        self.table = ClientTable(settings.osc_tcp_max_clients, settings.osc_tcp_idle_timeout)
        self.clients: dict[int, TcpClient] = {}  # by file descriptor, as the poller reports
        self.by_address: dict[str, TcpClient] = {}  # by sender text, for feedback
        self.feedback: Feedback | None = None
        self.counters = forwarder.counters

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
            self.by_address[peer] = client
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
        if frames and not client.spoke:
            # Its framing is known now: it may get feedback, every device's state first.
            client.spoke = True
            if self.feedback is not None:
                self.feedback.client_ready(client.address)
        for frame in frames:
            if isinstance(frame, FramingError):
                self.forwarder.reject("framing_errors", str(frame), client.address)
                continue
            reply = self.forwarder.handle_packet(frame, client.address, received_at)
            if reply is not None:
                self._answer(client, reply)
            for answer in self.forwarder.answers:
                self._answer(client, answer)
        if not data:
            self._close(fd, "closed by peer")

    def on_event(self, fd: int, flags: int) -> None:
        if flags & zmq.POLLOUT:
            self._flush(self.clients[fd])
        if flags & (zmq.POLLIN | zmq.POLLERR) and fd in self.clients:
            self.read(fd)

    def _answer(self, client: TcpClient, reply: bytes) -> bool:
        """Frame ``reply`` as the client frames its packets and write it without blocking;
        what the kernel does not take waits in the client's bounded buffer. False when the
        buffer is full (the packet is dropped whole, never cut)."""
        framed = (length_prefix_encode(reply) if client.decoder.mode == "length-prefix"
                  else slip_encode(reply))
        if client.outbuf:
            if len(client.outbuf) + len(framed) > CLIENT_OUTBUF:
                return False
            client.outbuf += framed
            return True
        try:
            written = client.sock.send(framed)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            return False  # the connection is failing; the next read closes it
        if written < len(framed):
            client.outbuf += framed[written:]
            self.poller.register(client.sock, zmq.POLLIN | zmq.POLLOUT)
        return True

    def _flush(self, client: TcpClient) -> None:
        if client.outbuf:
            try:
                written = client.sock.send(client.outbuf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                client.outbuf.clear()
                written = 0
            del client.outbuf[:written]
        if not client.outbuf:
            self.poller.register(client.sock, zmq.POLLIN)

    # ---- feedback (oscar.feedback.Clients) -----------------------------------------------------

    def send_to(self, sender: str, packet: bytes) -> bool:
        client = self.by_address.get(sender)
        if client is None or not client.spoke:
            return False
        if self._answer(client, packet):
            self.counters["feedback_sent"] += 1
        else:
            self.counters["feedback_dropped"] += 1
        return True

    def send_all(self, packet: bytes) -> None:
        for client in self.by_address.values():
            if client.spoke:
                self.send_to(client.address, packet)

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
        if self.by_address.get(client.address) is client:
            del self.by_address[client.address]
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
    warning = udp_buffer.advice(udp_buffer.size_receive_buffer(udp))
    if warning:
        log.warning("%s", warning)
    udp.bind((settings.osc_host, settings.osc_udp_port))
    udp.setblocking(False)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((settings.osc_host, settings.osc_tcp_port))
    tcp.listen(LISTEN_BACKLOG)
    tcp.setblocking(False)
    return udp, tcp


OPEN_MAX_MACOS = 10240


def _raise_fd_limit(wanted: int) -> None:
    """Every TCP client is a file descriptor: take what the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        # macOS: the hard limit reads "unlimited" but more than OPEN_MAX (10240) is refused.
        for attempt in dict.fromkeys((target, min(target, OPEN_MAX_MACOS))):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (attempt, hard))
                soft = attempt
                break
            except (ValueError, OSError) as exc:
                log.warning("cannot raise the open-file limit from %s to %s: %s", soft,
                            attempt, exc)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        log.warning("open-file limit %s is below osc_tcp_max_clients + ZeroMQ's needs (%s)",
                    soft, wanted)


def _peer(address: tuple) -> str:
    return f"{address[0]}:{address[1]}"


def _poll_timeout(forwarder: Forwarder, tcp: TcpSide) -> int:
    """Milliseconds until the next thing the loop must do by itself."""
    wait = forwarder.wake_in(IDLE_POLL)
    if tcp.clients:
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
    for prefix in (b"config.device.", ConfigSnapshot([], 0).topic(), ConfigBeacon(0).topic()):
        config.setsockopt(zmq.SUBSCRIBE, prefix)
    # Feedback follows events, device statuses and the target list (docs/protocol.md) on a
    # SUB of its own: a flood of events never delays a configuration change.
    follow = zmqutil.socket(ctx, zmq.SUB, MAXMSGSIZE=zmqutil.MAX_EVENT)
    zmqutil.connect(follow, settings.publish, settings.home)
    for prefix in (FeedbackTargets([]).topic(), b"event.", b"status.device."):
        follow.setsockopt(zmq.SUBSCRIBE, prefix)
    poller = event_poll.Poller()
    for sock in (udp, server, config, follow):
        poller.register(sock, zmq.POLLIN)
    # Monitors of the links holding commands -> their link (the forwarder says which). The
    # links' own sockets carry only acks, which the forwarder reads when it is awake anyway
    # (oscar.actor_link): polling them, or idle links' monitors, would cost every turn.
    links: dict[zmq.Socket, ActorLink] = {}

    def on_busy(link: ActorLink, busy: bool) -> None:
        if busy:
            poller.register(link.monitor, zmq.POLLIN)
            links[link.monitor] = link
        else:
            poller.unregister(link.monitor)
            links.pop(link.monitor, None)

    forwarder = Forwarder(ctx, settings, events, on_busy=on_busy)
    tcp = TcpSide(server, settings, forwarder, allow, poller)
    feedback = Feedback(Links(poller, forwarder.counters), tcp, forwarder.counters,
                        initial_targets=settings.feedback)
    forwarder.feedback = tcp.feedback = feedback
    known = desired_state.read(settings.desired_state_path)
    if known is not None:
        forwarder.set_devices(*known)
    feedback.set_devices(forwarder.devices)
    udp_fd, server_fd = udp.fileno(), server.fileno()
    kernel_drops = udp_buffer.KernelDrops(udp)
    stop = zmqutil.StopFlag()
    heartbeat_due = 0.0
    log.info("listening for OSC on %s UDP %d, TCP %d; senders allowed: %s",
             settings.osc_host, settings.osc_udp_port, settings.osc_tcp_port, allow)
    # Start-up's objects (modules, settings, sockets) live as long as the process: take them
    # out of the collector's reach, so a full collection in a show costs microseconds, not ms.
    gc.freeze()
    try:
        while not stop.stop:
            lifeline.beat()
            ready = poller.poll(timeout=_poll_timeout(forwarder, tcp))
            forwarder.run_due(time.time())
            config_ready = follow_ready = False
            for sock, flags in ready:
                if sock == udp_fd:
                    _read_udp(udp, forwarder, allow)
                elif sock == server_fd:
                    tcp.accept()
                elif sock is config:
                    config_ready = True
                elif sock is follow:
                    follow_ready = True
                elif isinstance(sock, int):
                    if sock in tcp.clients:  # may have been evicted earlier in this turn
                        tcp.on_event(sock, flags)
                    elif feedback.links.owns(sock):
                        feedback.links.on_ready(sock, flags)
                else:
                    link = links.get(sock)
                    if link is not None:
                        link.on_monitor()
            forwarder.housekeeping(time.time())
            if tcp.clients:
                tcp.close_idle()
            if config_ready:
                devices = forwarder.devices
                for message in zmqutil.drain(config, forwarder.counters):
                    if isinstance(message, (DeviceConfig, ConfigSnapshot, ConfigBeacon)):
                        forwarder.apply(message)
                        feedback.feed_seen()
                if forwarder.devices is not devices:
                    feedback.set_devices(forwarder.devices)
            if follow_ready:
                for message in zmqutil.drain(follow, forwarder.counters, limit=FOLLOW_PER_TURN):
                    if isinstance(message, (Event, ActorStatus, FeedbackTargets)):
                        feedback.on_message(message)
            feedback.tick()
            if time.monotonic() >= heartbeat_due:
                heartbeat_due = time.monotonic() + HEARTBEAT
                drops = kernel_drops.read()
                if drops is not None:
                    forwarder.counters["udp_kernel_drops"] = drops
                zmqutil.send(events, ListenerStatus(
                    pid=os.getpid(), udp_port=settings.osc_udp_port,
                    tcp_port=settings.osc_tcp_port, counters=dict(forwarder.counters)))
    finally:
        lifeline.stop()
        feedback.close()
        tcp.close_all()
        udp.close()
        server.close()
        forwarder.close()
        config.close(linger=0)
        follow.close(linger=0)
        events.close(linger=0)
        ctx.term()
    log.info("listener stopped")
    return 0


# (host, port) -> "host:port" of recent senders: a show has a few, each sending many cues.
_PEERS: dict[tuple, str] = {}
PEER_CACHE = 1024  # spoofed sources must not grow it (oscar.bounded)


def _read_udp(udp: socket.socket, forwarder: Forwarder, allow: AllowList) -> None:
    for _ in range(UDP_PER_TURN):
        try:
            packet, address = udp.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # e.g. ICMP errors surfacing on the socket
            log.debug("udp receive error: %s", exc)
            return
        peer = _PEERS.get(address) or remember(_PEERS, address, _peer(address), PEER_CACHE)
        if not allow.allows(address[0]):
            forwarder.reject("not_allowed", f"OSC from {address[0]} is not in osc_allow "
                             f"({len(packet)} bytes ignored)", peer)
            continue
        if _STALL_ON and packet.startswith(_STALL_ON):  # test-only hook, off by default
            lifeline_mod.stall_forever()
        reply = forwarder.handle_packet(packet, peer)
        if reply is not None:
            try:
                udp.sendto(reply, address)
            except OSError:
                pass  # the receipt is best effort; the CLI times out and says so
        for answer in forwarder.answers:  # /device/NAME/query, /oscar/check
            try:
                udp.sendto(answer, address)
            except OSError:
                break


def main() -> int:
    logsetup.configure("oscar-listener")
    return run()


if __name__ == "__main__":
    sys.exit(main())
