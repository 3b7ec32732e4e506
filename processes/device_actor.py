"""supervisord program oscar-device-NAME: one device's connection (TCP or UDP, oscar/actor.py).

    python -m oscar.processes.device_actor NAME

Binds its own command endpoint (ROUTER; the listener connects to it and keeps each command
until this actor acks it, so commands sent while this process restarts are not lost), follows
its desired state on the registry's PUB socket, and reports state and counters to the registry.
"""

from __future__ import annotations

import argparse
import logging
import math

import zmq

from oscar import desired_state, logsetup, zmqutil
from oscar import settings as settings_mod
from oscar.actor import Actor
from oscar.actor_intake import AckPacer
from oscar.lifeline import Lifeline, exit_now
from oscar.messages import Ack, Command, CommandBatch, ConfigSnapshot, DeviceConfig, Message
from oscar.models import NAME_RE, from_dict

log = logging.getLogger("oscar.device_actor")


class ConfigFollower:
    """Applies desired state for one device, ignoring anything older than what it has seen."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.gate = desired_state.RevisionGate()

    @property
    def revision(self) -> int:
        return self.gate.revision

    @revision.setter
    def revision(self, value: int) -> None:
        self.gate.revision = value

    def apply(self, message: Message) -> None:
        if isinstance(message, DeviceConfig) and message.name == self.actor.name:
            found = message.device
        elif isinstance(message, ConfigSnapshot):
            found = next((d for d in message.devices if d["name"] == self.actor.name), None)
        else:
            return
        # A snapshot repeating what we have is skipped; a replaced store's is taken whole.
        if not self.gate.accepts(message.store_id, message.revision,
                                 whole=isinstance(message, ConfigSnapshot)):
            return
        self.actor.configure(from_dict(found) if found else None)


def run(name: str) -> int:
    settings = settings_mod.load()
    lifeline = Lifeline(f"oscar-device-{name}")
    ctx = zmq.Context()
    events = zmqutil.socket(ctx, zmq.PUSH, SNDHWM=10_000)
    zmqutil.connect(events, settings.events, settings.home)
    actor = Actor(name, emit=lambda message: zmqutil.send(events, message))
    follower = ConfigFollower(actor)

    commands = zmqutil.socket(ctx, zmq.ROUTER, RCVHWM=10_000, MAXMSGSIZE=zmqutil.MAX_COMMAND)
    zmqutil.bind(commands, settings.actor_endpoint(name), settings.home)
    config = zmqutil.socket(ctx, zmq.SUB, MAXMSGSIZE=zmqutil.MAX_CONFIG)
    zmqutil.connect(config, settings.publish, settings.home)
    for prefix in (DeviceConfig(name, None, 0).topic(), ConfigSnapshot([], 0).topic()):
        config.setsockopt(zmq.SUBSCRIBE, prefix)

    known = desired_state.read(settings.desired_state_path)
    if known is not None:
        devices, revision = known
        follower.revision = revision
        actor.configure(devices.get(name))
    counters: dict[str, int] = {}
    stop = zmqutil.StopFlag()
    log.info("device actor %s started on %s", name, settings.actor_endpoint(name))
    poller = zmq.Poller()  # one for the process; the device socket is swapped as it changes
    poller.register(commands, zmq.POLLIN)
    poller.register(config, zmq.POLLIN)
    polled: tuple = (None, 0)  # (device socket, flags) registered now
    acks = AckPacer()
    try:
        while not stop.stop:
            lifeline.beat()
            tcp = actor.sock
            flags = 0
            if tcp is not None:
                flags = zmq.POLLIN | (zmq.POLLOUT if actor.wants_write() else 0)
            if polled != (tcp, flags):
                if polled[0] is not None and polled[0] is not tcp:
                    poller.unregister(polled[0])
                if tcp is not None:
                    poller.register(tcp, flags)  # registering again changes the flags
                polled = (tcp, flags)
            timeout = actor.next_timeout()
            if actor.intake.acks:
                timeout = min(timeout, acks.wait())
            # Whole ms, rounded up: a fraction would be cut to 0 and spin until it is due.
            ready = dict(poller.poll(timeout=math.ceil(timeout * 1000)))
            # pyzmq reports plain sockets by file descriptor, ZeroMQ sockets by object.
            if tcp is not None and tcp.fileno() in ready:
                flags = ready[tcp.fileno()]
                if flags & zmq.POLLERR:
                    actor.on_error()
                if flags & zmq.POLLOUT:
                    actor.on_writable()
                if flags & zmq.POLLIN:
                    actor.on_readable()
            if config in ready:
                for message in zmqutil.drain(config, counters):
                    follower.apply(message)
            if commands in ready:
                # Bounded, so the TCP socket gets its turn again under a burst of cues.
                for peer, message in zmqutil.drain_routed(commands, counters, limit=256):
                    if isinstance(message, CommandBatch):
                        actor.handle_commands(message.commands, peer)
                    elif isinstance(message, Command):
                        actor.handle_command(message, peer)
            actor.tick()
            if actor.intake.acks and acks.due():
                for peer, seqs in actor.take_acks().items():
                    try:
                        zmqutil.send_frames(commands, [peer, *Ack(name, seqs).encode()])
                    except zmq.Again:
                        pass  # that listener is gone or stuck; it resends what it still needs
    finally:
        lifeline.stop()
        actor.shutdown()
        for sock in (commands, config):
            sock.close(linger=0)
        # A moment for the final "stopped" status to leave: enough when the registry is up
        # (it leaves at once), short when it is not (40 actors stop in one batch).
        events.close(linger=100)
        ctx.term()
        zmqutil.remove_ipc_files()
    log.info("device actor %s stopped", name)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name")
    args = parser.parse_args()
    if not NAME_RE.fullmatch(args.name):
        parser.error(f"invalid device name {args.name!r}")
    logsetup.configure(f"oscar-device-{args.name}")
    return run(args.name)


if __name__ == "__main__":
    exit_now(main())  # no interpreter teardown: 40 actors stop in one batch
