"""Connection modes against a device played on a real 127.0.0.1 socket, fake clock:
per-command (one command per connection), on-demand (connect when needed, close when idle).
Connections that are short by design never grow the backoff."""


from oscar import states


def test_per_command_sends_one_command_per_connection_and_never_grows_the_backoff(rigs):
    rig = rigs(connection="per-command", reply_timeout=1.0).start()
    assert rig.actor.state == states.IDLE and rig.actor.sock is None
    for number in range(3):
        rig.cue(f"CMD {number}")
    for number in range(3):
        device = rig.accept()
        device.wait_for(b"\r")
        device.send(b"OK\r")
        # Answered: the actor closes (FIN, not a reset) and opens the next one at once.
        assert device.wait_closed() == f"CMD {number}\r".encode()
        assert rig.actor.backoff.attempts == 0
    rig.wait_state(states.IDLE)
    assert rig.counts() == {"sent": 3, "dropped": 0, "in_flight": 0, "queued": 0}
    assert [e.detail for e in rig.events("reply")] == ["OK", "OK", "OK"]
    assert rig.events("error") == []
    assert rig.actor.status().connects == 3


def test_per_command_without_a_reply_closes_after_the_reply_wait(rigs):
    rig = rigs(connection="per-command").start()  # reply_timeout 0: wait 2 s
    rig.cue("PON")
    device = rig.accept()
    device.wait_for(b"PON\r")
    rig.wait_sent(1)
    rig.settle()
    assert not device.closed  # still waiting for an answer
    rig.clock.now += 2.0
    device.wait_closed()
    rig.wait_state(states.IDLE)
    assert rig.actor.backoff.attempts == 0 and rig.events("error") == []


def test_a_per_command_device_that_closes_after_answering_is_not_a_failure(rigs):
    """Older NTCONTROL firmware: answer, then close."""
    rig = rigs(connection="per-command", reply_timeout=3.0).start()
    rig.cue("A")
    rig.cue("B")
    for text in (b"A\r", b"B\r"):
        device = rig.accept()
        device.wait_for(text)
        rig.wait_sent(1 if text == b"A\r" else 2)
        device.send(b"00000\r")
        device.close()
    rig.wait_state(states.IDLE)
    assert rig.actor.backoff.attempts == 0 and rig.events("error") == []
    assert rig.counts() == {"sent": 2, "dropped": 0, "in_flight": 0, "queued": 0}


def test_per_command_with_a_login_logs_in_on_every_connection(rigs):
    rig = rigs(connection="per-command", profile="pjlink", password="password").start()
    rig.cue("%1POWR 1")
    rig.cue("%1POWR ?")
    for text in (b"%1POWR 1\r", b"%1POWR ?\r"):
        device = rig.accept()
        device.send(b"PJLINK 1 a572f60c\r")
        received = device.wait_for(text)
        assert received == b"e3d97429adffa11bce1f7275813d4bde" + text
        device.send(b"%1POWR=OK\r")
        device.wait_closed()
    rig.wait_state(states.IDLE)
    assert rig.actor.backoff.attempts == 0


def test_a_refused_per_command_connection_backs_off(rigs):
    rig = rigs(connection="per-command")
    rig.server.close()  # nothing listens
    rig.start()
    rig.cue("PON")
    rig.wait_state(states.WAITING)
    assert rig.actor.backoff.attempts == 1
    assert rig.counts()["queued"] == 1


def test_on_demand_connects_for_a_command_and_closes_when_idle(rigs):
    rig = rigs(connection="on-demand", idle_close=5.0).start()
    assert rig.actor.state == states.IDLE
    rig.settle()
    rig.cue("%1POWR 1")
    device = rig.accept()
    device.wait_for(b"%1POWR 1\r")
    rig.wait_sent(1)
    rig.clock.now += 3.0
    rig.cue("%1INPT 31")  # within idle_close: the same connection
    device.wait_for(b"%1INPT 31\r")
    rig.clock.now += 4.0
    rig.settle()
    assert rig.actor.state == states.READY  # 4 s since the last command
    rig.clock.now += 1.0
    device.wait_closed()
    rig.wait_state(states.IDLE)
    assert rig.actor.backoff.attempts == 0 and rig.events("error") == []
    rig.cue("%1POWR 0")  # a fresh connection
    rig.accept().wait_for(b"%1POWR 0\r")
    assert rig.actor.status().connects == 2


def test_a_device_closing_an_idle_on_demand_connection_is_not_a_failure(rigs):
    rig = rigs(connection="on-demand", idle_close=60.0).start()
    rig.cue("X")
    device = rig.accept()
    device.wait_for(b"X\r")
    rig.wait_sent(1)
    device.close()  # PJLink closes after ~30 s idle
    rig.wait_state(states.IDLE)
    assert rig.actor.backoff.attempts == 0 and rig.events("error") == []


def test_on_demand_after_a_failure_goes_idle_when_nothing_waits(rigs):
    rig = rigs(connection="on-demand", ttl=1.0)
    rig.server.close()
    rig.start()
    rig.cue("X")
    rig.wait_state(states.WAITING)
    rig.clock.now += 2.0  # the command expires; the retry time passes
    rig.settle()
    assert rig.actor.state == states.IDLE
    assert rig.counts() == {"sent": 0, "dropped": 1, "in_flight": 0, "queued": 0}


def test_a_persistent_connection_that_served_resets_the_backoff(rigs):
    rig = rigs()
    device = rig.ready()
    device.close()  # at once, nothing sent on it: a failure
    rig.wait_state(states.WAITING)
    assert rig.actor.backoff.attempts == 1
    rig.clock.now = rig.actor.retry_at
    device = rig.accept()
    rig.cue("GO")
    device.wait_for(b"GO\r")
    rig.wait_sent(1)
    device.close()  # short, but the device took a command: it served
    rig.wait_state(states.WAITING)
    assert rig.actor.backoff.attempts == 1  # reset, then this retry's delay
    assert rig.actor.retry_at - rig.clock.now <= 0.5 * 1.25
