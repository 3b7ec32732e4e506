"""Cues in over UDP and TCP, exact bytes out at the device."""

import shutil
import subprocess

from oscar.framing import length_prefix_encode, slip_encode
from tests.support import FakeDevice, osc_message, wait_for


def test_udp_and_tcp_slip_cues_arrive_as_exact_bytes(oscar, device):
    oscar.add_device("proj1", device.port, terminator="\\r")
    oscar.wait_state("proj1", "ready")

    oscar.send_udp(osc_message("/device/proj1/message", "%1POWR 1"))
    wait_for(lambda: device.received == b"%1POWR 1\r", message="UDP cue at the device")

    oscar.send_tcp(slip_encode(osc_message("/device/proj1/message", "%1INPT 31")))
    wait_for(lambda: device.received == b"%1POWR 1\r%1INPT 31\r",
             message="TCP SLIP cue at the device")

    # OSC 1.0 length-prefixed framing on TCP too
    oscar.send_tcp(length_prefix_encode(osc_message("/device/proj1/message", "LP")))
    wait_for(lambda: device.received.endswith(b"LP\r"), message="length-prefixed cue")

    row = wait_for(lambda: (r := oscar.device_status("proj1"))["sent"] == 3 and r,
                   message="status to count 3 sent")
    assert row["last_command"] == "LP"
    assert row["dropped"] == 0


def test_qlab_style_arguments_and_escapes(oscar, device):
    oscar.add_device("sw", device.port, terminator="\\r\\n")
    oscar.wait_state("sw", "ready")
    # QLab: unquoted words become separate strings, numbers become int/float.
    oscar.send_udp(osc_message("/device/sw/message", "SET", "IN", 3, "GAIN", 0.5))
    wait_for(lambda: device.received == b"SET IN 3 GAIN 0.5\r\n", message="joined arguments")
    # Escapes typed in a cue are decoded once: \x41 is 'A', \\ is one backslash.
    oscar.send_udp(osc_message("/device/sw/message", "A\\x42C\\\\D\\tE"))
    wait_for(lambda: device.received.endswith(b"ABC\\D\tE\r\n"), message="escaped cue")


def test_real_osc_client_oscsend_udp_and_tcp(oscar, device):
    assert shutil.which("oscsend"), "oscsend missing: `make test` installs liblo-tools"
    oscar.add_device("lobby", device.port)
    oscar.wait_state("lobby", "ready")
    subprocess.run(["oscsend", "127.0.0.1", str(oscar.osc_port), "/device/lobby/message",
                    "s", "PWR ON"], check=True, timeout=10)
    wait_for(lambda: device.received == b"PWR ON\r", message="oscsend UDP cue")
    subprocess.run(["oscsend", f"osc.tcp://127.0.0.1:{oscar.osc_port}",
                    "/device/lobby/message", "si", "VOL", "7"], check=True, timeout=10)
    wait_for(lambda: device.received == b"PWR ON\rVOL 7\r", message="oscsend TCP cue")


def test_cli_send_reaches_the_device(oscar, device):
    oscar.add_device("proj2", device.port)
    oscar.wait_state("proj2", "ready")
    result = oscar.cli("send", "proj2", "%1POWR 0")
    assert result.returncode == 0, result.stderr
    result = oscar.cli("send", "--tcp", "proj2", "%1POWR 1")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: device.received == b"%1POWR 0\r%1POWR 1\r", message="cues from oscar send")
    status = oscar.cli("status")
    assert "proj2" in status.stdout and "ready" in status.stdout


def test_replies_are_read_counted_and_shown(oscar):
    with FakeDevice(reply=b"%1POWR=OK\r") as device:
        oscar.add_device("proj", device.port)
        oscar.wait_state("proj", "ready")
        oscar.send_udp(osc_message("/device/proj/message", "%1POWR 1"))
        row = wait_for(lambda: (r := oscar.device_status("proj"))["replies"] >= 1 and r,
                       message="reply counted")
        assert row["last_reply"] == "%1POWR=OK"
        replies = [e for e in oscar.call("activity", device="proj") if e["event"] == "reply"]
        assert replies and replies[0]["detail"] == "%1POWR=OK"


def test_a_flooding_device_does_not_stall_cues_or_other_devices(oscar, device):
    flood = 32 * 1024 * 1024
    with FakeDevice(flood=flood) as noisy:
        oscar.add_device("noisy", noisy.port)
        oscar.add_device("quiet", device.port)
        oscar.wait_state("quiet", "ready")
        # 32 MiB of unsolicited output is pouring in while cues go out
        wait_for(lambda: oscar.device_status("noisy")["reply_bytes"] > 0,
                 message="flood under way")
        texts = [f"N{i}" for i in range(200)]
        for text in texts:
            oscar.send_udp(osc_message("/device/noisy/message", text))
        oscar.send_udp(osc_message("/device/quiet/message", "Q"))
        wait_for(lambda: device.received == b"Q\r", message="quiet device unaffected")
        wait_for(lambda: noisy.received == b"".join(t.encode() + b"\r" for t in texts),
                 timeout=20, message="every cue to the noisy device, in order")
        row = wait_for(lambda: (r := oscar.device_status("noisy"))["reply_bytes"] >= flood
                       and r, timeout=30, message="whole flood read and counted")
        assert row["state"] == "ready" and row["connects"] == 1
        assert row["last_reply"].startswith("###")
