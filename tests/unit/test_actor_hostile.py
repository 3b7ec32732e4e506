"""Whatever a device sends (during the login or after), the actor neither raises nor grows: it
ends up ready, logging in, or failed with a reason, and its counters still add up."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oscar import states
from oscar.actor import Actor
from oscar.devices.profiles import PROFILES
from oscar.messages import Command
from oscar.models import Device
from tests.unit.test_actor import Clock, Link

PASSWORD = "Zq9-secret"
TCP_PROFILES = sorted(name for name, profile in PROFILES.items()
                      if profile.defaults.get("transport", "tcp") == "tcp")
CHUNKS = st.lists(st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"PJLINK 1 a572f60c\r", b"PJLINK ERRA\r", b"NTCONTROL 1 zzzzzzzz\r",
                     b"Password:", b"Login Administrator\r\n", b"\r\n\r\n", b"~01@ OK\r\n",
                     b"NOKEY\r\n", b"ESC/VP.net\x10\x03\x00\x00\x00\x00", b"ERRA\r",
                     b"END PRELUDE:\n\n", b"Ready \"6.0\"\r\n", b"x" * 5000])),
    max_size=30)


def actor_for(profile: str):
    link = Link()
    clock = Clock()
    emitted = []
    actor = Actor("dev", emit=emitted.append, clock=clock,
                  unacked=lambda sock: sock.unacked(), connect=link.connect)
    actor.configure(Device(name="dev", host="127.0.0.1", port=9999, profile=profile,
                           username="admin1", password=PASSWORD, reply_timeout=0.0))
    actor.on_writable()
    return actor, link, clock


def hostile(profile: str, chunks: list[bytes]) -> None:
    actor, link, clock = actor_for(profile)
    for number, chunk in enumerate(chunks):
        if link.current.closed:
            clock.now = max(clock.now, actor.retry_at)
            actor.tick()
            actor.on_writable()
        if number % 3 == 0:
            actor.handle_command(Command(device="dev", data=b"GO", received_at=clock.now,
                                         sender="s", seq=number + 1))
        link.current.inbox.append(chunk)
        actor.on_readable()
        link.current.ack()
        clock.now += 0.3
        actor.tick()
        assert actor.state in (states.CONNECTING, states.CONNECTED, states.READY,
                               states.IDLE, states.WAITING, states.AUTH_FAILED)
        if actor.state == states.AUTH_FAILED:
            assert actor.status().last_error.startswith("login failed: ")
        if actor.link is not None:
            assert actor.link.lines.pending() <= 70_000
        status = actor.status()
        assert status.accepted == (status.sent + status.dropped + status.in_flight
                                   + status.queued)
        assert PASSWORD not in status.last_error


@pytest.mark.parametrize("profile", TCP_PROFILES)
@settings(max_examples=40, deadline=None)
@given(chunks=CHUNKS)
def test_any_bytes_from_the_device_leave_the_actor_standing(profile, chunks):
    hostile(profile, chunks)


@pytest.mark.fuzz
@pytest.mark.parametrize("profile", TCP_PROFILES)
@settings(max_examples=2000, deadline=None)
@given(chunks=CHUNKS)
def test_any_bytes_from_the_device_leave_the_actor_standing_long(profile, chunks):
    hostile(profile, chunks)
