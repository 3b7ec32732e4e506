"""supervisord program oscar-registry: device store, control socket, config PUB, live status.

Owns the SQLite store (the only writer), answers the control socket (REP), publishes desired
state (with a periodic snapshot for late joiners), collects events from the listener and actors
(PULL) into the status table and re-publishes them for the web UI, and keeps supervisord's
device programs in step with the store.
"""

from __future__ import annotations

import logging
import sys
import time

import zmq

from oscar import logsetup, zmqutil
from oscar import settings as settings_mod
from oscar.messages import (
    ActorStatus,
    ConfigSnapshot,
    Event,
    ListenerStatus,
    Message,
    Reply,
    Request,
)
from oscar.reconciler import Reconciler
from oscar.registry_service import RegistryService
from oscar.status_table import StatusTable
from oscar.store import Store
from oscar.supervisor_client import Programs

log = logging.getLogger("oscar.registry")
SNAPSHOT_EVERY = 2.0


def run() -> int:
    settings = settings_mod.load()
    settings.ensure_dirs()
    store = Store(settings.db_path)
    ctx = zmq.Context()
    control = zmqutil.socket(ctx, zmq.REP)
    control.bind(settings.control)
    pub = zmqutil.socket(ctx, zmq.PUB, SNDHWM=100_000)
    pub.bind(settings.publish)
    events = zmqutil.socket(ctx, zmq.PULL, RCVHWM=100_000)
    events.bind(settings.events)

    def publish(message: Message) -> None:
        zmqutil.send(pub, message)

    table = StatusTable()
    programs = Programs(settings)
    reconciler = Reconciler(programs, table)
    service = RegistryService(settings, store, publish, table, programs, reconciler)
    counters: dict[str, int] = {}
    service.sync()  # reconcile at start-up: programs and data plane match the store
    reconciler.start()
    stop = zmqutil.StopFlag()
    snapshot_due = time.monotonic() + SNAPSHOT_EVERY
    log.info("registry serving %s (store %s, revision %d)", settings.control, settings.db_path,
             store.revision)
    try:
        while not stop.stop:
            poller = zmq.Poller()
            poller.register(control, zmq.POLLIN)
            poller.register(events, zmq.POLLIN)
            ready = dict(poller.poll(timeout=250))
            if events in ready:
                for message in zmqutil.drain(events, counters):
                    _record(table, message, publish)
            if control in ready:
                request = zmqutil.receive(control, counters)
                if isinstance(request, Request):
                    reply = service.handle(request)
                else:
                    reply = Reply(ok=False, code="bad_request", error="not an Oscar request")
                control.send_multipart(reply.encode())
            if time.monotonic() >= snapshot_due:
                snapshot_due = time.monotonic() + SNAPSHOT_EVERY
                publish(ConfigSnapshot([d.to_dict() for d in store.list()], store.revision))
    finally:
        reconciler.stop()
        for sock in (control, pub, events):
            sock.close(linger=0)
        ctx.term()
        store.close()
    log.info("registry stopped")
    return 0


def _record(table: StatusTable, message: Message, publish) -> None:
    if isinstance(message, ActorStatus):
        table.record_status(message)
    elif isinstance(message, ListenerStatus):
        table.listener = message
    elif isinstance(message, Event):
        table.record_event(message)
    else:
        return
    publish(message)  # the web UI follows these for live status


def main() -> int:
    logsetup.configure("oscar-registry")
    return run()


if __name__ == "__main__":
    sys.exit(main())
