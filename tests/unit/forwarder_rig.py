"""A Forwarder over real ZeroMQ inside the test's process (inproc), no supervisord."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator

import zmq

from oscar import settings as settings_mod
from oscar.forwarder import Forwarder
from oscar.models import Device

EVENTS = "inproc://events"  # the forwarder's events go here: connect a PULL to read them


@contextlib.contextmanager
def inproc_forwarder(devices: dict[str, Device], events_hwm: int = 0) -> Iterator[Forwarder]:
    """A Forwarder configured with ``devices``, each with a bound ROUTER nobody reads as its
    actor's endpoint, its events on a PUSH bound at EVENTS (``events_hwm``: its send high-water
    mark, 0 for ZeroMQ's default) and a temporary OSCAR_HOME; all closed and removed afterwards
    (sockets the test opened on ``forwarder.ctx`` must be closed first)."""
    ctx = zmq.Context()
    home = tempfile.mkdtemp(prefix="fwd-", dir="/tmp")
    config = settings_mod.load({"OSCAR_HOME": home,
                                "OSCAR_ACTOR_ENDPOINT_TEMPLATE": "inproc://actor-{name}"})
    events = ctx.socket(zmq.PUSH)
    if events_hwm:
        events.setsockopt(zmq.SNDHWM, events_hwm)
    events.bind(EVENTS)
    actors = []
    for name in devices:
        actor = ctx.socket(zmq.ROUTER)
        actor.bind(f"inproc://actor-{name}")
        actors.append(actor)
    forwarder = Forwarder(ctx, config, events)
    forwarder.set_devices(devices, 1)
    try:
        yield forwarder
    finally:
        forwarder.close()
        for sock in (*actors, events):
            sock.close(linger=0)
        ctx.term()
        shutil.rmtree(home, ignore_errors=True)
