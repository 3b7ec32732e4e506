"""A device that is not there yet, or drops mid-show: Oscar keeps trying, nothing stale fires."""

from tests.support import FakeDevice, free_port, osc_message, wait_for

FAST_RETRY = {"backoff_min": 0.1, "backoff_max": 0.5}


def cue(oscar, name, text):
    oscar.send_udp(osc_message(f"/device/{name}/message", text))


def test_device_appears_later_fresh_cues_sent_stale_ones_dropped(oscar):
    port = free_port()
    oscar.add_device("late", port, ttl=2.0, **FAST_RETRY)
    row = oscar.wait_state("late", "waiting")
    assert "refused" in row["last_error"].lower()
    # It keeps trying: the error repeats while the device is missing.
    wait_for(lambda: oscar.call("activity", device="late", limit=50).__len__() >= 4,
             message="repeated connect attempts")

    cue(oscar, "late", "STALE")
    # Past its 2 s TTL the waiting cue is dropped and reported, not kept to fire late.
    wait_for(lambda: oscar.device_status("late")["dropped"] == 1, timeout=10,
             message="stale cue dropped while the device is missing")
    cue(oscar, "late", "FRESH1")
    cue(oscar, "late", "FRESH2")

    with FakeDevice(port) as device:
        oscar.wait_state("late", "ready")
        wait_for(lambda: device.received == b"FRESH1\rFRESH2\r", message="fresh cues, in order")
        row = wait_for(lambda: (r := oscar.device_status("late"))["sent"] == 2 and r,
                       message="two cues counted as sent")
        assert row["dropped"] == 1
        drops = [e for e in oscar.call("activity", device="late") if e["event"] == "dropped"]
        assert len(drops) == 1 and "STALE" in drops[0]["detail"]
        assert "expired" in drops[0]["detail"]
        # and nothing else arrives later
        cue(oscar, "late", "AFTER")
        wait_for(lambda: device.received == b"FRESH1\rFRESH2\rAFTER\r", message="later cue")


def test_device_drops_connection_mid_show_then_later_cues_arrive(oscar, device):
    oscar.add_device("proj", device.port, **FAST_RETRY)
    oscar.wait_state("proj", "ready")
    cue(oscar, "proj", "ONE")
    wait_for(lambda: device.received == b"ONE\r", message="first cue")

    device.drop_connections()
    # Noticed while idle: no cue is needed to find out the connection is gone.
    wait_for(lambda: device.connections >= 2, message="actor to reconnect by itself")
    row = oscar.wait_state("proj", "ready")
    assert row["connects"] >= 2
    assert "closed" in row["last_error"]

    cue(oscar, "proj", "TWO")
    wait_for(lambda: device.received == b"ONE\rTWO\r", message="cue after the reconnect")


def test_device_gone_for_a_while_reports_waiting_then_recovers(oscar):
    device = FakeDevice().start()
    oscar.add_device("sw", device.port, **FAST_RETRY)
    oscar.wait_state("sw", "ready")
    port = device.port
    device.stop()
    row = oscar.wait_state("sw", "waiting")
    assert row["next_retry_at"] > 0
    cue(oscar, "sw", "WHILE DOWN")
    with FakeDevice(port) as device:
        oscar.wait_state("sw", "ready")
        wait_for(lambda: device.received == b"WHILE DOWN\r", message="queued cue within TTL")


def test_editing_a_device_applies_live_without_restarting_its_actor(oscar, device):
    oscar.add_device("proj", device.port)
    oscar.wait_state("proj", "ready")
    pid = oscar.pid_of("oscar-device-proj")
    result = oscar.cli("device", "edit", "proj", "--terminator", "\\r\\n")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: oscar.device_status("proj")["config"]["terminator"] == "\\r\\n",
             message="edit stored")

    def arrives_with_new_terminator():
        device.received.clear()
        cue(oscar, "proj", "T")
        return wait_for(lambda: device.received, timeout=2) == b"T\r\n"
    wait_for(arrives_with_new_terminator, message="new terminator in use")

    with FakeDevice() as moved:
        oscar.call("update", name="proj", changes={"port": moved.port})
        wait_for(lambda: moved.connections == 1, message="actor follows the device to its new port")
        oscar.wait_state("proj", "ready")
        cue(oscar, "proj", "MOVED")
        wait_for(lambda: moved.received == b"MOVED\r\n", message="cue at the new address")
    assert oscar.pid_of("oscar-device-proj") == pid
