"""The listener's side of an actor's command channel over real ZeroMQ (inproc): commands go in
one batch per loop turn, acks are read without being polled for, and only links holding
commands are visited."""

from __future__ import annotations

import shutil
import tempfile
import time
import types
from collections import deque

import pytest
import zmq

from oscar import actor_link, zmqutil
from oscar import forwarder as forwarder_mod
from oscar import settings as settings_mod
from oscar.forwarder import Forwarder
from oscar.messages import Ack, Command, CommandBatch
from oscar.models import Device
from tests.unit.osc_corpus import msg, pad


@pytest.fixture
def rig():
    ctx = zmq.Context()
    home = tempfile.mkdtemp(prefix="link-", dir="/tmp")
    config = settings_mod.load({"OSCAR_HOME": home,
                                "OSCAR_ACTOR_ENDPOINT_TEMPLATE": "inproc://actor-{name}"})
    events = ctx.socket(zmq.PUSH)
    events.bind("inproc://events")
    actors = {}
    for name in ("p1", "p2"):
        actors[name] = ctx.socket(zmq.ROUTER)
        actors[name].bind(f"inproc://actor-{name}")
    forwarder = Forwarder(ctx, config, events)
    forwarder.set_devices({n: Device(n, "127.0.0.1", 9000) for n in actors}, 1)
    try:
        yield forwarder, actors
    finally:
        forwarder.close()
        for sock in (*actors.values(), events):
            sock.close(linger=0)
        ctx.term()
        shutil.rmtree(home, ignore_errors=True)


def cue(forwarder: Forwarder, device: str, text: str) -> None:
    assert forwarder.handle_packet(msg(f"/device/{device}/message", ",s", pad(text.encode())),
                                   "127.0.0.1:5000") is None


def receive(actor: zmq.Socket, timeout_ms: int = 2000) -> tuple[bytes, CommandBatch]:
    assert actor.poll(timeout_ms), "no batch reached the actor"
    peer, *frames = actor.recv_multipart()
    return peer, zmqutil.decode(frames)


def test_a_turn_s_cues_reach_the_actor_as_one_batch_in_order(rig):
    forwarder, actors = rig
    for n in range(5):
        cue(forwarder, "p1", f"cue {n}")
    forwarder.link("p1")  # connected before the first flush
    deadline = time.monotonic() + 2
    while forwarder.waiting and time.monotonic() < deadline:
        forwarder.housekeeping(time.time())
        time.sleep(0.01)
    _, batch = receive(actors["p1"])
    assert [c.data for c in batch.commands] == [f"cue {n}".encode() for n in range(5)]
    assert forwarder.waiting == 0


def test_acks_are_read_on_the_next_turn_and_free_the_link(rig):
    forwarder, actors = rig
    watched = []  # what the listener would poll: the monitors of links holding commands
    forwarder.on_busy = lambda link, busy: watched.append((link.name, busy))
    cue(forwarder, "p1", "go")
    while forwarder.waiting:
        forwarder.housekeeping(time.time())
    peer, batch = receive(actors["p1"])
    link = forwarder.links["p1"]
    assert list(link.unacked) == [batch.commands[0].seq]  # held until the actor acks it
    actors["p1"].send_multipart([peer, *Ack("p1", [batch.commands[0].seq]).encode()])
    deadline = time.monotonic() + 2
    while link.unacked and time.monotonic() < deadline:
        forwarder.housekeeping(time.time() + forwarder_mod.EXPIRE_EVERY)
        time.sleep(0.01)
    assert not link.unacked and link.held == 0
    assert "p1" not in forwarder._busy  # nothing held: no longer visited every turn
    assert watched == [("p1", True), ("p1", False)]


def test_many_unacked_commands_make_the_link_read_its_acks_at_once(rig, monkeypatch):
    forwarder, actors = rig
    monkeypatch.setattr(actor_link, "READ_ACKS_AT", 3)
    for n in range(3):
        cue(forwarder, "p1", f"cue {n}")
    while forwarder.waiting:
        forwarder.housekeeping(time.time())
    peer, batch = receive(actors["p1"])
    actors["p1"].send_multipart([peer, *Ack("p1", [c.seq for c in batch.commands]).encode()])
    time.sleep(0.05)
    link = forwarder.links["p1"]
    link.submit(batch.commands[0].__class__("p1", b"more", time.time(), "x", 999))
    link.flush()  # 4 unacked > 3: the acks waiting are read now, not at the next pass
    assert list(link.unacked) == [999]


def test_an_idle_link_costs_nothing_per_turn(rig):
    forwarder, actors = rig
    cue(forwarder, "p2", "only p2")
    assert set(forwarder._busy) == {"p2"}
    assert forwarder.waiting == 1


def test_a_fast_stream_goes_in_batches_and_a_lone_cue_at_once(rig, monkeypatch):
    """While cues arrive faster than one per COALESCE, a send is followed by a pause of
    COALESCE (the loop wakes for it); held commands are batched, not lost. A cue after a quiet
    spell is not held."""
    forwarder, actors = rig
    link = forwarder.link("p1")
    for n in range(20):  # a burst: the running mean of arrival gaps falls below COALESCE
        cue(forwarder, "p1", f"burst {n}")
    assert link.mean_gap < actor_link.COALESCE
    now = time.time()
    clock = types.SimpleNamespace(time=lambda: now + actor_link.COALESCE / 2,
                                  monotonic=time.monotonic)
    monkeypatch.setattr(forwarder_mod, "time", clock)  # wake_in's "now", mid-hold
    forwarder.housekeeping(now)
    _, batch = receive(actors["p1"])
    assert len(batch.commands) == 20
    cue(forwarder, "p1", "second")
    cue(forwarder, "p1", "third")
    forwarder.housekeeping(now + actor_link.COALESCE / 2)
    assert forwarder.waiting == 2 and not actors["p1"].poll(50), "sent before COALESCE"
    assert 0 < forwarder.wake_in(1.0) <= actor_link.COALESCE, "the loop would not wake for it"
    forwarder.housekeeping(now + actor_link.COALESCE)
    _, batch = receive(actors["p1"])
    assert [c.data for c in batch.commands] == [b"second", b"third"]
    # After a quiet spell (a cue 10 ms later) the next cue goes on the turn that took it.
    link.submit(Command("p1", b"later", now + 0.01, "127.0.0.1:5000", 10_001))
    forwarder.housekeeping(now + 0.01)
    _, batch = receive(actors["p1"])
    assert [c.data for c in batch.commands] == [b"later"] and link.outbox == deque()


def test_cues_a_millisecond_apart_are_never_held(rig):
    """1000 cues/s: each goes on the turn that took it, whatever came before."""
    forwarder, actors = rig
    link = forwarder.link("p1")
    start = time.time()
    for n in range(30):
        at = start + n * 0.001
        link.submit(Command("p1", b"cue %d" % n, at, "127.0.0.1:5000", n + 1))
        link.flush(at)
        _, batch = receive(actors["p1"])
        assert [c.data for c in batch.commands] == [b"cue %d" % n], f"cue {n} was held"


def test_a_turn_with_nothing_to_send_starts_no_pause(rig):
    """The pause follows a send: a turn that found the outbox empty does not hold the next cue
    of the stream."""
    forwarder, actors = rig
    link = forwarder.link("p1")
    for n in range(20):
        cue(forwarder, "p1", f"burst {n}")
    now = time.time()
    link.flush(now)
    assert len(receive(actors["p1"])[1].commands) == 20
    pause = actor_link.COALESCE
    link.flush(now + 2 * pause)  # another device's turn: nothing here to send
    link.submit(Command("p1", b"next", now, "127.0.0.1:5000", 10_001))
    assert link.mean_gap < pause  # still a fast stream
    link.flush(now + 2.5 * pause)
    _, batch = receive(actors["p1"])
    assert [c.data for c in batch.commands] == [b"next"]


def test_several_fast_streams_share_a_longer_pause(rig, monkeypatch):
    """Two devices flooded at once: each link's pause after a send is SHARED_HOLD per fast
    link (one fast stream alone keeps COALESCE), so their actors wake less often in all; what
    is held goes whole and in order when the pause ends."""
    forwarder, actors = rig
    assert actor_link.shared_hold(0) == actor_link.shared_hold(1) == actor_link.COALESCE
    assert actor_link.shared_hold(2) == 2 * actor_link.SHARED_HOLD
    assert actor_link.shared_hold(1000) == actor_link.SHARED_HOLD_MAX
    for n in range(20):
        cue(forwarder, "p1", f"p1 burst {n}")
        cue(forwarder, "p2", f"p2 burst {n}")
    now = time.time()
    monkeypatch.setattr(forwarder_mod, "time", types.SimpleNamespace(
        time=lambda: now, monotonic=time.monotonic))
    forwarder.housekeeping(now)  # sends; this turn saw two fast links
    for name in ("p1", "p2"):
        assert len(receive(actors[name])[1].commands) == 20
    sent_at = now + actor_link.COALESCE  # the first pause was one device's
    for name in ("p1", "p2"):
        cue(forwarder, name, f"{name} first")
    forwarder.housekeeping(sent_at)
    for name in ("p1", "p2"):
        assert [c.data for c in receive(actors[name])[1].commands] == [f"{name} first".encode()]
    hold = actor_link.shared_hold(2)
    for name in ("p1", "p2"):
        cue(forwarder, name, f"{name} second")
    forwarder.housekeeping(sent_at + 2 * actor_link.COALESCE)  # past one device's pause
    assert not actors["p1"].poll(50) and not actors["p2"].poll(0), "sent before the shared pause"
    assert forwarder.waiting == 2
    forwarder.housekeeping(sent_at + hold)
    for name in ("p1", "p2"):
        _, batch = receive(actors[name])
        assert [c.data for c in batch.commands] == [f"{name} second".encode()]
