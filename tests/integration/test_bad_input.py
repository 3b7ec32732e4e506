"""Nothing a network peer sends can take the listener down; every rejection is counted."""

import socket

from oscar.framing import slip_encode
from tests.support import osc_message, wait_for


def test_garbage_truncated_wrong_types_unknown_device_listener_stays_up(oscar, device):
    oscar.add_device("proj", device.port)
    oscar.wait_state("proj", "ready")
    listener_pid = oscar.pid_of("oscar-listener")
    good = osc_message("/device/proj/message", "OK")

    oscar.send_udp(b"\x00\xff garbage \x01")  # not OSC at all
    oscar.send_udp(good[:11])  # truncated
    oscar.send_udp(osc_message("/device/proj/message", None))  # nil (N) has no text
    oscar.send_udp(osc_message("/device/proj/message"))  # no argument
    oscar.send_udp(osc_message("/device/ghost/message", "X"))  # unknown device
    oscar.send_udp(osc_message("/device/proj/explode", "X"))  # unknown verb
    oscar.send_udp(osc_message("/cue/1/start"))  # not ours
    oscar.send_udp(osc_message("/device/proj/message", "bad \\q escape"))
    oscar.send_tcp(slip_encode(b"\x00\x01\x02"))  # garbage inside a good frame
    oscar.send_tcp(b"\x00\xff\xff\xff" + b"x" * 16)  # absurd length prefix
    with socket.create_connection(("127.0.0.1", oscar.osc_port)) as sock:
        sock.sendall(b"\xc0/device/proj/mes")  # cut off mid-frame, connection closed

    expected = {"malformed": 3, "wrong_type": 2, "unknown_device": 1, "unknown_verb": 1,
                "unknown_address": 1, "bad_escape": 1, "framing_errors": 1}

    def counted():
        counters = oscar.listener_counters()
        return all(counters.get(k, 0) >= v for k, v in expected.items()) and counters

    counters = wait_for(counted, message=f"listener counters to reach {expected}")
    assert counters["forwarded"] == 0
    # still alive, same process, and a good cue still goes through
    oscar.send_udp(good)
    wait_for(lambda: device.received == b"OK\r", message="good cue after the garbage")
    assert oscar.pid_of("oscar-listener") == listener_pid
    rejected = [e for e in oscar.call("activity", limit=100) if e["event"] == "rejected"]
    assert any("ghost" in e["detail"] and e["sender"].startswith("127.0.0.1:")
               for e in rejected)
    assert device.received == b"OK\r"
