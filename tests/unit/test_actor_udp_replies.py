"""UDP devices (one datagram per command, replies on the same socket, ICMP port unreachable as
an error, not a state) and reply lines (framing, routing to the sender, rate limit)."""


from oscar import states
from oscar.actor_reports import REPLY_EVENTS_PER_SECOND


def datagrams(rig, count):
    got = []
    rig.server.settimeout(0.01)

    def read():
        try:
            got.append(rig.server.recvfrom(65536))
        except TimeoutError:
            pass
        return len(got) >= count
    rig.pump(read, message=f"{count} datagrams")
    return got


def test_each_udp_command_is_one_datagram_sent_when_the_kernel_takes_it(rigs):
    rig = rigs(udp=True, on_connect=("HELLO",)).start()
    assert rig.actor.state == states.READY
    rig.cue("PLAY 1")
    rig.cue("STOP")
    got = datagrams(rig, 3)
    assert [data for data, _ in got] == [b"HELLO\r", b"PLAY 1\r", b"STOP\r"]
    assert rig.counts() == {"sent": 2, "dropped": 0, "in_flight": 0, "queued": 0}
    # Replies come back on the same socket.
    rig.server.sendto(b"OK\r", got[0][1])
    rig.pump(lambda: rig.events("reply"), message="a reply")
    assert [(e.detail, e.sender) for e in rig.events("reply")] == [("OK", "10.0.0.5:53000")]


def test_udp_port_unreachable_is_the_last_error_not_a_state(rigs):
    rig = rigs(udp=True)
    rig.server.close()  # nothing listens: the kernel answers with ICMP port unreachable
    rig.start()
    rig.cue("ONE")
    rig.pump(lambda: "unreachable" in rig.actor.status().last_error,
             message="the ICMP error noticed")
    rig.cue("TWO")
    rig.pump(lambda: rig.actor.counters["sent"] == 2, message="both handed over")
    assert rig.actor.state == states.READY
    errors = rig.events("error")
    assert len(errors) == 1 and "port unreachable" in errors[0].detail
    assert rig.counts() == {"sent": 2, "dropped": 0, "in_flight": 0, "queued": 0}


def test_udp_pacing_and_keepalive(rigs):
    rig = rigs(udp=True, min_gap=1.0, keepalive="PING", keepalive_interval=5.0).start()
    rig.cue("A")
    rig.cue("B")
    assert [d for d, _ in datagrams(rig, 1)] == [b"A\r"]
    rig.settle()
    assert rig.actor.counters["sent"] == 1
    rig.clock.now += 1.0
    assert [d for d, _ in datagrams(rig, 1)] == [b"B\r"]
    rig.clock.now += 5.0
    assert [d for d, _ in datagrams(rig, 1)] == [b"PING\r"]


def test_reply_lines_are_framed_whatever_the_chunks(rigs):
    rig = rigs(reply_terminator="\\r\\n")
    device = rig.ready()
    rig.cue("1*2!", sender="desk:1")
    device.wait_for(b"1*2!\r")
    for chunk in (b"Out2 ", b"In1 All\r", b"\nE13\r\n", b"\xff\xfe\r\n"):
        device.send(chunk)
        rig.settle(3)
    rig.pump(lambda: len(rig.events("reply")) == 3, message="three reply lines")
    assert [(e.detail, e.sender) for e in rig.events("reply")] == [
        ("Out2 In1 All", "desk:1"), ("E13", "desk:1"), ("\\xff\\xfe", "desk:1")]
    status = rig.actor.status()
    assert (status.replies, status.reply_bytes) == (3, 23)


def test_a_flood_of_replies_becomes_a_summary_event_per_second(rigs):
    rig = rigs()
    device = rig.ready()
    device.send(b"".join(b"LINE %d\r" % n for n in range(120)))
    rig.pump(lambda: rig.actor.counters["replies"] == 120, message="120 lines read")
    assert len(rig.events("reply")) == REPLY_EVENTS_PER_SECOND
    rig.clock.now += 1.0
    rig.settle(2)
    assert len(rig.events("reply")) == REPLY_EVENTS_PER_SECOND
    summary = rig.events("replies_hidden")
    assert [event.detail for event in summary] == [
        "70 more replies within a second, last: LINE 119"]


def test_the_reply_sender_is_the_sender_of_the_latest_command(rigs):
    rig = rigs()
    device = rig.ready()
    rig.cue("Q1", sender="tcp:10.0.0.7:50001")
    device.wait_for(b"Q1\r")
    device.send(b"A1\r")
    rig.pump(lambda: len(rig.events("reply")) == 1, message="A1")
    rig.cue("Q2", sender="10.0.0.8:53000")
    device.wait_for(b"Q2\r")
    device.send(b"A2\r")
    rig.pump(lambda: len(rig.events("reply")) == 2, message="A2")
    assert [(e.detail, e.sender) for e in rig.events("reply")] == [
        ("A1", "tcp:10.0.0.7:50001"), ("A2", "10.0.0.8:53000")]


def test_a_udp_datagram_too_long_is_dropped_and_reported(rigs):
    rig = rigs(udp=True).start()
    rig.cue("X" * 70_000)
    rig.cue("SMALL")
    got = datagrams(rig, 1)
    assert [d for d, _ in got] == [b"SMALL\r"]
    assert rig.counts() == {"sent": 1, "dropped": 1, "in_flight": 0, "queued": 0}
    assert "too long for one datagram" in rig.events("dropped")[0].detail
