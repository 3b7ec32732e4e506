"""The actor's login state machine against a device played by the test on a real 127.0.0.1
socket: connect -> greeting/challenge -> login -> on_connect -> ready -> queued commands."""

import logging

from oscar import states

# The worked PJLink example (Hitachi manual, ../shared/devices.md).
PJLINK_RANDOM = b"a572f60c"
PJLINK_PASSWORD = "password"
PJLINK_HASH = b"e3d97429adffa11bce1f7275813d4bde"


def pjlink(rigs, password=PJLINK_PASSWORD, **fields):
    return rigs(profile="pjlink", password=password, **fields)


def no_password_anywhere(rig, password):
    assert password not in repr(rig.emitted)


def test_pjlink_commands_wait_for_the_login_and_carry_the_hash(rigs):
    rig = pjlink(rigs).start()
    rig.cue("%1POWR 1", sender="10.0.0.9:53000")  # arrives before the connection is up
    device = rig.accept()
    rig.wait_state(states.CONNECTED)
    rig.settle()
    assert device.received == b"" and rig.counts()["queued"] == 1  # nothing before the login
    device.send(b"PJLINK 1 " + PJLINK_RANDOM + b"\r")
    device.wait_for(b"%1POWR 1\r")
    assert rig.actor.state == states.READY
    rig.cue("%1INPT 31")
    received = device.wait_for(b"%1INPT 31\r")
    # The hash in front of the first command only (PJLink accepts both; devices.md).
    assert received == PJLINK_HASH + b"%1POWR 1\r%1INPT 31\r"
    rig.wait_sent(2)
    device.send(b"%1POWR=OK\r")
    rig.pump(lambda: rig.events("reply"), message="a reply event")
    reply = rig.events("reply")[0]
    # Routed to the sender of the latest command (the feedback path uses it).
    assert (reply.detail, reply.sender) == ("%1POWR=OK", "10.0.0.5:53000")
    assert rig.actor.status().last_reply == "%1POWR=OK"
    no_password_anywhere(rig, PJLINK_PASSWORD)


def test_an_open_pjlink_projector_gets_plain_commands(rigs):
    rig = pjlink(rigs, password="").start()
    device = rig.accept()
    device.send(b"PJLINK 0\r")
    rig.wait_state(states.READY)
    rig.cue("%1POWR 0")
    assert device.wait_for(b"\r") == b"%1POWR 0\r"


def test_a_wrong_password_is_auth_failed_with_backoff_and_the_command_counts_sent(rigs):
    rig = pjlink(rigs, password="wrong-secret").start()
    device = rig.accept()
    device.send(b"PJLINK 1 " + PJLINK_RANDOM + b"\r")
    rig.wait_state(states.READY)
    rig.cue("%1POWR 1")
    device.wait_for(b"%1POWR 1\r")
    rig.wait_sent(1)
    device.send(b"PJLINK ERRA\r")
    rig.wait_state(states.AUTH_FAILED)
    status = rig.actor.status()
    assert "wrong password" in status.last_error and status.next_retry_at > rig.clock.now
    assert rig.counts() == {"sent": 1, "dropped": 0, "in_flight": 0, "queued": 0}
    errors = [e.detail for e in rig.events("error")]
    assert errors and "wrong password" in errors[-1]
    assert any(e.detail.startswith("auth_failed") for e in rig.events("state"))
    assert rig.actor.backoff.attempts == 1
    no_password_anywhere(rig, "wrong-secret")


def test_a_refused_login_sends_nothing_and_commands_wait_within_ttl(rigs):
    rig = pjlink(rigs, password="", ttl=3.0).start()
    rig.cue("%1POWR 1")
    device = rig.accept()
    device.send(b"PJLINK 1 " + PJLINK_RANDOM + b"\r")  # asks for a password; none is set
    rig.wait_state(states.AUTH_FAILED)
    assert "password" in rig.actor.status().last_error
    assert device.wait_closed() == b""  # not one byte of the command
    assert rig.counts() == {"sent": 0, "dropped": 0, "in_flight": 0, "queued": 1}
    first_retry = rig.actor.retry_at
    # It retries after the backoff, fails again, and the backoff grows; the command expires
    # as usual when its TTL has passed: never a silent loop.
    rig.clock.now = first_retry
    device = rig.accept()
    device.send(b"PJLINK 1 " + PJLINK_RANDOM + b"\r")
    rig.pump(lambda: rig.actor.state == states.AUTH_FAILED and rig.actor.retry_at != first_retry,
             message="a second refusal")
    assert rig.actor.retry_at - rig.clock.now > first_retry - 1000.0
    rig.clock.now += 3.5
    rig.settle()
    assert rig.counts() == {"sent": 0, "dropped": 1, "in_flight": 0, "queued": 0}
    assert "expired" in rig.events("dropped")[-1].detail


def test_a_login_that_does_not_finish_in_time_fails_the_connection(rigs):
    rig = pjlink(rigs).start()
    device = rig.accept()
    rig.wait_state(states.CONNECTED)
    rig.clock.now += 5.1  # no greeting within the login timeout
    rig.settle()
    assert rig.actor.state == states.WAITING
    assert "login did not finish within 5s" in rig.actor.status().last_error
    assert rig.actor.backoff.attempts == 1
    device.wait_closed()


def test_the_login_timeout_is_the_reply_timeout_when_one_is_set(rigs):
    rig = pjlink(rigs, reply_timeout=1.5).start()
    rig.accept()
    rig.wait_state(states.CONNECTED)
    rig.clock.now += 1.6
    rig.settle()
    assert "login did not finish within 1.5s" in rig.actor.status().last_error


def test_a_device_closing_before_the_login_finished_is_a_failure(rigs):
    rig = pjlink(rigs, connection="on-demand").start()
    rig.cue("%1POWR 1")
    device = rig.accept()
    rig.wait_state(states.CONNECTED)
    device.close()
    rig.wait_state(states.WAITING)
    assert "before the login finished" in rig.actor.status().last_error
    assert rig.actor.backoff.attempts == 1
    assert rig.counts()["queued"] == 1


def test_on_connect_goes_after_the_login_and_before_queued_commands(rigs):
    rig = rigs(profile="generic", on_connect=("authenticate 1", "\\x1B3CV"),
               terminator="\\r").start()
    rig.cue("GO")
    device = rig.accept()
    received = device.wait_for(b"GO\r")
    assert received == b"authenticate 1\r\x1b3CV\rGO\r"
    rig.wait_sent(1)
    # Not cues: not counted anywhere.
    assert rig.actor.status().accepted == 1
    assert rig.counts() == {"sent": 1, "dropped": 0, "in_flight": 0, "queued": 0}


def test_ntcontrol_prefixes_every_command_on_the_connection(rigs):
    rig = rigs(profile="ntcontrol", username="admin1", password="panasonic",
               connection="persistent").start()
    device = rig.accept()
    device.send(b"NTCONTROL 1 zzzzzzzz\r")
    rig.wait_state(states.READY)
    rig.cue("PON")
    rig.cue("QPW")
    received = device.wait_for(b"QPW\r")
    first, second = received.split(b"\r")[:2]
    assert first.endswith(b"00PON") and second.endswith(b"00QPW")
    assert first[:-5] == second[:-5] and len(first[:-5]) == 32  # the hash, every time
    no_password_anywhere(rig, "panasonic")


def test_the_login_drain_is_not_an_error_and_what_follows_are_replies(rigs):
    """A videohub dumps its state on connect: the login drains it, no failure."""
    rig = rigs(profile="videohub", terminator="\\n\\n", reply_terminator="\\n\\n").start()
    device = rig.accept()
    device.send(b"PROTOCOL PREAMBLE:\nVersion: 2.8\n\nVIDEOHUB DEVICE:\nModel name: X\n\n"
                b"END PRELUDE:\n\nACK\n\n")
    rig.pump(lambda: rig.actor.state == states.READY and rig.actor.counters["replies"] >= 1,
             message="the dump drained")
    assert [e.detail for e in rig.events("reply")] == ["ACK"]
    assert rig.events("error") == []


def test_a_password_sent_in_clear_reaches_the_device_but_no_log_or_event(rigs, caplog):
    caplog.set_level(logging.DEBUG)
    rig = rigs(profile="extron-sis", password="s3cret-pw", terminator="").start()
    rig.cue("1*2!")
    device = rig.accept()
    device.send(b"(c) Copyright 2024, Extron Electronics, DXP\r\nV1.0, 60-1234-01\r\nPassword:")
    device.wait_for(b"s3cret-pw\r")
    device.send(b"\r\nLogin Administrator\r\n")
    assert device.wait_for(b"1*2!") == b"s3cret-pw\r1*2!"
    device.send(b"Out2 In1 All\r\n")
    rig.pump(lambda: rig.events("reply"), message="the tie's answer")
    rig.close()  # stops: the final state and status too
    assert "s3cret-pw" not in caplog.text
    no_password_anywhere(rig, "s3cret-pw")
    assert "s3cret-pw" not in repr(rig.device)


def test_a_wrong_extron_password_is_auth_failed(rigs):
    rig = rigs(profile="extron-sis", password="nope", terminator="").start()
    device = rig.accept()
    device.send(b"(c) Copyright 2024, Extron Electronics, DXP\r\nV1.0, 60-1234-01\r\nPassword:")
    device.wait_for(b"nope\r")
    device.send(b"\r\nPassword:")
    rig.wait_state(states.AUTH_FAILED)
    assert "password" in rig.actor.status().last_error.lower()
