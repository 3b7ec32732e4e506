"""supervisord program oscar-device-NAME: one device's connection (TCP or UDP, oscar/actor.py).

    python -m oscar.processes.device_actor NAME

Binds its own command endpoint (ROUTER; the listener connects to it and keeps each command
until this actor acks it, so commands sent while this process restarts are not lost), follows
its desired state on the registry's PUB socket, and reports state and counters to the registry.
"""

from __future__ import annotations

import gc
import logging
import math
import sys
from typing import TYPE_CHECKING

import zmq

from oscar import desired_state, event_poll, logsetup, zmqutil
from oscar import settings as settings_mod
from oscar.actor import Actor
from oscar.actor_intake import AckPacer
from oscar.lifeline import Lifeline, exit_now
from oscar.messages import (
    Ack,
    Command,
    CommandBatch,
    ConfigBeacon,
    ConfigSnapshot,
    DeviceConfig,
    Message,
)
from oscar.models import NAME_RE, from_dict

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger("oscar.device_actor")

# Plain ints: pyzmq's flag enums cost an enum operation per use.
POLLIN, POLLOUT, POLLERR = int(zmq.POLLIN), int(zmq.POLLOUT), int(zmq.POLLERR)


class ConfigFollower:
    """Applies desired state for one device, ignoring anything older than what it has seen."""

    def __init__(self, actor: Actor, path: Path | None = None):
        self.actor = actor
        self.gate = desired_state.RevisionGate()
        self.path = path  # the desired-state file, read when a beacon says we are behind

    @property
    def revision(self) -> int:
        return self.gate.revision

    @revision.setter
    def revision(self, value: int) -> None:
        self.gate.revision = value

    def apply(self, message: Message) -> None:
        if isinstance(message, ConfigBeacon):
            self.actor.board.beacon(message.registry_run)  # the heartbeat goes with this wake-up
            state = None if self.path is None else desired_state.catch_up(
                self.gate, self.path, message.store_id, message.revision, self.actor.name)
            if state is not None:
                self.actor.configure(state.devices.get(self.actor.name))
            return
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


def take_commands(sock: zmq.Socket, actor: Actor, counters: dict[str, int],
                  limit: int = 256, poller: event_poll.Poller | None = None) -> None:
    """Hand the command messages waiting on the ROUTER to the actor: at most ``limit``, so the
    device socket gets its turn again under a burst. ``poller``: the one that just reported
    the socket ready (read at once; told when it is found empty)."""
    emptied = poller.settle if poller is not None else None
    for peer, message in zmqutil.drain_routed(sock, counters, limit, ready=poller is not None,
                                              emptied=emptied):
        if isinstance(message, CommandBatch):
            actor.handle_commands(message.commands, peer)
        elif isinstance(message, Command):
            actor.handle_command(message, peer)


# What an actor follows: its own device's changes, whole snapshots (start-up, import), and
# the registry's beacon every 5 s (a few bytes; the file has what a late joiner missed).
CONFIG_TOPICS = (ConfigSnapshot([], 0).topic(), ConfigBeacon(0).topic())


def take_config(sock: zmq.Socket, follower: ConfigFollower, counters: dict[str, int],
                limit: int = 64) -> None:
    """Apply the config messages waiting on the SUB socket."""
    for message in zmqutil.drain(sock, counters, limit):
        follower.apply(message)


def run(name: str) -> int:
    settings = settings_mod.load()
    lifeline = Lifeline(f"oscar-device-{name}")
    ctx = zmq.Context()
    events = zmqutil.socket(ctx, zmq.PUSH, SNDHWM=10_000)
    zmqutil.connect(events, settings.events, settings.home)
    actor = Actor(name, emit=lambda message: zmqutil.send(events, message))
    follower = ConfigFollower(actor, settings.desired_state_path)

    commands = zmqutil.socket(ctx, zmq.ROUTER, RCVHWM=10_000, MAXMSGSIZE=zmqutil.MAX_COMMAND)
    zmqutil.bind(commands, settings.actor_endpoint(name), settings.home)
    config = zmqutil.socket(ctx, zmq.SUB, MAXMSGSIZE=zmqutil.MAX_CONFIG)
    zmqutil.connect(config, settings.publish, settings.home)
    for prefix in (DeviceConfig(name, None, 0).topic(), *CONFIG_TOPICS):
        config.setsockopt(zmq.SUBSCRIBE, prefix)

    known = desired_state.read(settings.desired_state_path, only=name)
    if known is not None:
        devices, revision = known
        follower.revision = revision
        actor.configure(devices.get(name))
    counters: dict[str, int] = {}
    stop = zmqutil.StopFlag()
    log.info("device actor %s started on %s", name, settings.actor_endpoint(name))
    poller = event_poll.Poller()  # one for the process; the device socket is swapped as it changes
    poller.register(commands, POLLIN)
    poller.register(config, POLLIN)
    poller.wake_on(stop.wakeup(), stop.drain)  # SIGTERM ends an idle wait (max_wait is 6 s)
    polled: tuple = (None, 0)  # (device socket, flags) registered now
    acks = AckPacer()
    clock = actor.clock
    max_wait = lifeline.max_wait
    # A full turn (timers, poller registration, next wake-up) runs when one is due or the
    # last turn did more than take commands that went straight out (actor.wake_after_commands).
    full, wake_at = True, 0.0
    try:
        while not stop.stop:
            lifeline.beat()
            if full:
                tcp = actor.sock
                flags = 0
                if tcp is not None:
                    flags = POLLIN | (POLLOUT if actor.wants_write() else 0)
                if polled != (tcp, flags):
                    if polled[0] is not None and polled[0] is not tcp:
                        poller.unregister(polled[0])
                    if tcp is not None:
                        poller.register(tcp, flags)  # registering again changes the flags
                    polled = (tcp, flags)
                wake_at = clock() + actor.next_timeout()
            timeout = min(wake_at - clock(), max_wait)
            if actor.intake.acks:
                timeout = min(timeout, acks.wait())
            # Whole ms, rounded up: a fraction would be cut to 0 and spin until it is due.
            ready = poller.poll(timeout=math.ceil(timeout * 1000) if timeout > 0 else 0)
            full = taking = configs = False
            device_events = 0
            for sock, revents in ready:
                if sock is commands:
                    taking = True
                elif sock is config:
                    full = configs = True
                else:  # pyzmq reports a plain socket by its file descriptor
                    full, device_events = True, revents
            # The device socket first: its events belong to the socket registered now, which
            # new config or a command may replace.
            if device_events & POLLERR:
                actor.on_error()
            if device_events & POLLOUT:
                actor.on_writable()
            if device_events & POLLIN:
                actor.on_readable()
            if configs:
                take_config(config, follower, counters)
            if taking:
                dropped = actor.counters["dropped"]
                take_commands(commands, actor, counters, poller=poller)
                wake_at = actor.wake_after_commands(wake_at, dropped, polled[0])
            if full or clock() >= wake_at:
                actor.tick()
                full = True
            if actor.intake.acks and acks.due():
                for peer, seqs in actor.take_acks().items():
                    try:
                        zmqutil.send_frames(commands, [peer, *Ack(name, seqs).encode()])
                    except zmq.Again:
                        pass  # that listener is gone or stuck; it resends what it still needs
                poller.touch(commands)
    finally:
        lifeline.stop()
        actor.shutdown()
        poller.close()
        for sock in (commands, config):
            sock.close(linger=0)
        # A moment for the final "stopped" status to leave: enough when the registry is up
        # (it leaves at once), short when it is not (40 actors stop in one batch).
        events.close(linger=100)
        ctx.term()
        zmqutil.remove_ipc_files()
    log.info("device actor %s stopped", name)
    return 0


def main(argv: list[str] | None = None) -> int:
    # One argument: argparse (and the gettext and textwrap it imports) would cost every actor
    # about 0.4 MB of memory.
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not NAME_RE.fullmatch(args[0]):
        print(f"usage: python -m oscar.processes.device_actor NAME\n{__doc__.splitlines()[0]}"
              + (f"\nerror: invalid device name {args[0]!r}" if len(args) == 1 else ""),
              file=sys.stderr)
        return 2
    logsetup.configure(f"oscar-device-{args[0]}")
    # What start-up built lives as long as the process: out of the collector's way for good
    # (it would walk all of it again in its next rounds).
    gc.freeze()
    return run(args[0])


if __name__ == "__main__":
    exit_now(main())  # no interpreter teardown: 40 actors stop in one batch
