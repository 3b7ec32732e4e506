"""supervisord program oscar-registry: device store, control socket, config PUB, live status.

Owns the SQLite store (the only writer), answers the control socket (a ROUTER that speaks
REP's envelope, so no bytes a peer sends can wedge or kill it), publishes desired state (with a
beacon every 4.9 s naming the latest revision: a late joiner reads the desired-state file),
collects events from the listener and actors (PULL) into
the status table (status) and the events history (every event, $OSCAR_HOME/history.sqlite,
oscar/history.py) and re-publishes them (the listener's feedback follows them), keeps
supervisord's device programs in step with the store, and copies the store to
$OSCAR_HOME/backups/ once a day.

It refuses to start on a store that is missing, empty or unreadable while the data plane still
runs devices (oscar/store_guard.py): exit code 2, the reason and the way to restore in its log.
"""

from __future__ import annotations

import logging
import math
import sys
import time

import zmq

from oscar import backups, logsetup, totals_file, zmqutil
from oscar import settings as settings_mod
from oscar.actor_status import HEARTBEAT as ACTOR_HEARTBEAT
from oscar.history import History
from oscar.lifeline import Lifeline
from oscar.messages import (
    ActorAlive,
    ActorStatus,
    ConfigSnapshot,
    DeviceConfig,
    Event,
    ListenerStatus,
    Message,
    Reply,
    Request,
)
from oscar.reconciler import Reconciler
from oscar.registry_service import RegistryService
from oscar.status_table import StatusTable
from oscar.store_guard import StoreRefused, open_store
from oscar.supervisor_client import Programs

log = logging.getLogger("oscar.registry")
# The beacon (oscar.messages.ConfigBeacon), not the whole snapshot. As often as the actors'
# heartbeat: an idle actor sends its status with the beacon's wake-up, one wake-up per period.
# A little more often, at a fixed rate: an idle actor's loop beats once per beacon and its
# watchdog sleeps until the last beat + stall_after (oscar/lifeline.py, 10 s). At exactly 5 s
# the second beacon's beat came a hair after that moment, so the watchdog woke every beacon;
# at 4.9 s it finds that beat done and sleeps through to the next pair (half the wake-ups).
SNAPSHOT_EVERY = 0.98 * ACTOR_HEARTBEAT
# A subscriber that is (re)connecting misses what is published meanwhile (ZeroMQ's slow joiner):
# right after start-up and after every change, repeat the beacon soon, so a device added just
# then is known to the listener within a fraction of a second, not at the next 5 s beacon.
SNAPSHOT_SOON = 0.25
QUICK_SNAPSHOTS_FOR = 3.0
EXIT_STORE_REFUSED = 2
CONTROL_RCVHWM = 64  # requests queued per client; a REQ client has at most one in flight
EVENTS_RCVHWM = 10_000  # per sender: status and events arrive in bursts, drained 512 a turn


def run() -> int:
    settings = settings_mod.load()
    lifeline = Lifeline("oscar-registry")
    settings.ensure_dirs()
    try:
        store = open_store(settings)
    except StoreRefused as exc:
        log.critical("%s", exc)
        lifeline.stop()
        return EXIT_STORE_REFUSED
    ctx = zmq.Context()
    control = zmqutil.socket(ctx, zmq.ROUTER, MAXMSGSIZE=zmqutil.MAX_CONTROL,
                             RCVHWM=CONTROL_RCVHWM)
    zmqutil.bind(control, settings.control, settings.home)
    pub = zmqutil.socket(ctx, zmq.PUB, SNDHWM=100_000)
    zmqutil.bind(pub, settings.publish, settings.home)
    events = zmqutil.socket(ctx, zmq.PULL, RCVHWM=EVENTS_RCVHWM, MAXMSGSIZE=zmqutil.MAX_EVENT)
    zmqutil.bind(events, settings.events, settings.home)

    snapshot_due = time.monotonic() + SNAPSHOT_SOON
    quick_until = time.monotonic() + QUICK_SNAPSHOTS_FOR

    def publish(message: Message) -> None:
        nonlocal snapshot_due
        zmqutil.send(pub, message)
        if isinstance(message, (DeviceConfig, ConfigSnapshot)):
            snapshot_due = min(snapshot_due, time.monotonic() + SNAPSHOT_SOON)

    history = History.open(settings.history_path, max_days=settings.history_days,
                           max_rows=settings.history_rows).start()
    table = StatusTable()
    table.load_totals(totals_file.load(settings.totals_path))
    saved_totals: dict = {}
    programs = Programs(settings)
    # supervisord rings this socket on every program state change (oscar/reconciler.py).
    reconciler = Reconciler(programs, table, settings.socket_dir / "supervisor-bell.sock")
    service = RegistryService(settings, store, publish, table, programs, reconciler, history)
    counters = service.counters
    service.load_feedback()
    publish(service.feedback_message())
    backup = backups.DailyBackup(store, backups.directory(settings.home))
    backup.tick()  # the start-up copy
    service.sync()  # reconcile at start-up: programs and data plane match the store
    reconciler.start()
    stop = zmqutil.StopFlag()
    log.info("registry serving %s (store %s, id %s, revision %d)", settings.control,
             settings.db_path, store.store_id, store.revision)
    poller = zmq.Poller()
    poller.register(control, zmq.POLLIN)
    poller.register(events, zmq.POLLIN)
    woken = stop.wakeup()  # SIGTERM ends a wait for the next beacon
    poller.register(woken, zmq.POLLIN)
    try:
        while not stop.stop:
            lifeline.beat()
            # Asleep until the next beacon (at most SNAPSHOT_EVERY, well under the lifeline's
            # stall limit) unless a message comes: not four wake-ups a second for nothing.
            wait_ms = math.ceil(max(0.0, snapshot_due - time.monotonic()) * 1000)
            ready = dict(poller.poll(timeout=wait_ms))
            if woken in ready:
                stop.drain()
            if events in ready:
                for message in zmqutil.drain(events, counters):
                    _record(table, history, message, publish)
            if control in ready:
                for envelope, request, error in zmqutil.drain_requests(control, counters):
                    if isinstance(request, Request):
                        reply = service.handle(request)
                    else:
                        reply = Reply(ok=False, code="bad_request",
                                      error=f"not an Oscar request: {error or 'not a request'}")
                    zmqutil.reply(control, envelope, reply)
            now = time.monotonic()
            if now >= snapshot_due:
                period = SNAPSHOT_SOON if now < quick_until else SNAPSHOT_EVERY
                # From the due time, not from now: a late turn does not delay later beacons.
                snapshot_due = max(snapshot_due + period, now + period / 2)
                zmqutil.send(pub, service.beacon())
                zmqutil.send(pub, service.feedback_message())
                backup.tick()
                totals = table.totals_state()
                if totals != saved_totals:
                    totals_file.save(settings.totals_path, totals)
                    saved_totals = totals
    finally:
        lifeline.stop()
        try:
            totals_file.save(settings.totals_path, table.totals_state())
        except OSError as exc:
            log.warning("device totals not saved to %s: %s", settings.totals_path, exc)
        reconciler.stop()
        history.close()  # writes the events still waiting
        for sock in (control, pub, events):
            sock.close(linger=0)
        ctx.term()
        zmqutil.remove_ipc_files()
        store.close()
    log.info("registry stopped")
    return 0


def _record(table: StatusTable, history: History, message: Message, publish) -> None:
    if isinstance(message, ActorAlive):
        kept = table.record_alive(message)
        if kept is None:
            return  # a status of that run comes next (a new registry run gets one first)
        message = kept  # re-published whole: subscribers see a status.device as ever
    elif isinstance(message, ActorStatus):
        table.record_status(message)
    elif isinstance(message, ListenerStatus):
        table.listener = message
    elif isinstance(message, Event):
        history.append(message)
    else:
        return
    publish(message)  # the listener's feedback (and any monitoring tool) follows these


def main() -> int:
    logsetup.configure("oscar-registry")
    return run()


if __name__ == "__main__":
    sys.exit(main())
