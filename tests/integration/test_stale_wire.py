"""A device that stops reading: no cue reaches it later than its TTL, none torn, and the
counters say what happened (issue 6: "TTL holds to the wire").

The one exception is physical: bytes the device's own kernel acknowledged before its application
hung are, for TCP and for us, delivered ("sent"); the application reads them when it wakes. The
fake device keeps that buffer small (like an embedded device) and measures it at resume, and the
test checks that every late cue came from there.
"""

import time

from tests.support import FakeDevice, osc_message, wait_for

TTL = 3.0
MARGIN = 0.5
CUES = 300
RATE = 25.0  # cues a second
STALL_AT, RESUME_AT = 50, 250  # cue numbers: the device hangs for 8 s


def parse(line: bytes) -> float:
    assert line.startswith(b"T"), f"torn or foreign cue {line!r}"
    return float(line[1:])


def test_a_stalled_device_gets_no_stale_cue_and_the_counters_add_up(oscar):
    with FakeDevice(rcvbuf=1) as device:
        oscar.add_device("slow", device.port, ttl=TTL)
        oscar.wait_state("slow", "ready")
        start = time.monotonic()
        for number in range(CUES):
            if number == STALL_AT:
                device.stall()
            if number == RESUME_AT:
                resumed_at = time.time()
                device.resume()
            oscar.send_udp(osc_message("/device/slow/message", f"T{time.time():.3f}"))
            time.sleep(max(0.0, start + (number + 1) / RATE - time.monotonic()))

        row = wait_for(lambda: (r := oscar.device_status("slow"))["accepted"] == CUES
                       and r["queued"] == 0 and r["in_flight"] == 0 and r, timeout=20,
                       message=f"all {CUES} cues sent or dropped")
        assert row["sent"] + row["dropped"] == CUES
        assert row["dropped"] > 0
        # The device has read all it will get once its reads stop growing.
        wait_for(lambda: (n := len(device.arrivals)) and time.sleep(0.5) is None
                 and n == len(device.arrivals), message="device done reading")

    streams: dict[int, bytearray] = {}
    late, buffered_cues, delivered, fragments = [], 0, [], 0
    for _, connection, data in device.arrivals:
        streams.setdefault(connection, bytearray()).extend(data)
    # When and in which part of its connection's stream each cue reached the application.
    for connection, stream in streams.items():
        reads = [(at, len(data)) for at, c, data in device.arrivals if c == connection]
        before_stall = sum(size for at, size in reads if at < resumed_at)
        kernel_held = range(before_stall,
                            before_stall + device.buffered_at_resume.get(connection, 0))
        offset, read_end, read_at = 0, 0, 0.0
        read_iter = iter(reads)
        *lines, tail = bytes(stream).split(b"\r")
        # A cue the device's kernel had taken part of when the connection was reset ends that
        # connection unterminated: nothing follows it there, so no garbled line can form.
        assert tail == b"" or connection < device.connections, f"torn cue {tail!r} at the end"
        fragments += bool(tail)
        for line in lines:
            end = offset + len(line) + 1
            while read_end < end:
                read_at, size = next(read_iter)
                read_end += size
            sent_at = parse(line)
            delivered.append(sent_at)
            if read_at - sent_at > TTL + MARGIN:
                late.append(read_at - sent_at)
                assert end - 1 in kernel_held, (
                    f"cue {line!r} arrived {read_at - sent_at:.1f}s late and was not in the "
                    "device's kernel buffer when it resumed")
            if end - 1 in kernel_held:
                buffered_cues += 1
            offset = end

    assert len(delivered) == len(set(delivered)), "a cue arrived twice"
    # Every cue the device's TCP stack took counts as sent; they all reached the application.
    assert len(delivered) == row["sent"]
    print(f"\n{CUES} cues, device stalled {(RESUME_AT - STALL_AT) / RATE:g}s, TTL {TTL:g}s: "
          f"sent {row['sent']}, dropped {row['dropped']}; {len(late)} arrived later than "
          f"TTL+{MARGIN:g}s (max {max(late, default=0):.1f}s), all of them from the "
          f"{buffered_cues} cues the device's kernel held when it resumed "
          f"({sum(device.buffered_at_resume.values())} bytes over "
          f"{len(device.buffered_at_resume)} connections); {device.connections} connections, "
          f"{fragments} ended by a reset in mid-cue")
