"""Crashes are contained: a killed actor or registry costs no cue and touches no other device."""

import os
import signal
import time

from tests.support import FakeDevice, osc_message, pid_alive, wait_for


def cues(oscar, name, texts):
    for text in texts:
        oscar.send_udp(osc_message(f"/device/{name}/message", text))


def expected(texts):
    return b"".join(t.encode() + b"\r" for t in texts)


def test_kill_9_of_one_actor_loses_no_cue_and_other_devices_never_notice(oscar):
    with FakeDevice() as dev_a, FakeDevice() as dev_b:
        oscar.add_device("a", dev_a.port, backoff_min=0.1, backoff_max=0.5)
        oscar.add_device("b", dev_b.port)
        oscar.wait_state("a", "ready")
        oscar.wait_state("b", "ready")
        pid_b = oscar.pid_of("oscar-device-b")
        before = [f"A{i}" for i in range(5)]
        cues(oscar, "a", before)
        wait_for(lambda: dev_a.received == expected(before), message="cues before the kill")

        pid_a = oscar.pid_of("oscar-device-a")
        os.kill(pid_a, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pid_a), message="actor a to die")
        during = [f"A{i}" for i in range(5, 25)]
        cues(oscar, "a", during)
        cues(oscar, "b", ["B-DURING"])
        # b keeps working while a is down
        wait_for(lambda: dev_b.received == b"B-DURING\r", message="b unaffected")

        wait_for(lambda: oscar.pid_of("oscar-device-a") not in (0, pid_a),
                 message="supervisord to restart actor a")
        wait_for(lambda: dev_a.received == expected(before + during), timeout=15,
                 message="cues sent during the restart, once and in order")
        assert oscar.pid_of("oscar-device-b") == pid_b
        assert dev_b.connections == 1
        assert oscar.device_status("b")["state"] == "ready"


def test_a_killed_actor_is_back_on_its_device_within_two_seconds(oscar, device):
    # supervisord restarts it at once (oscar/supervisord_main.py; the stock one waits up to a
    # second before starting it again); the rest is the actor's start and connect.
    oscar.add_device("proj", device.port)
    oscar.wait_state("proj", "ready")
    pid = oscar.pid_of("oscar-device-proj")
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: device.connections == 2, timeout=10, interval=0.01,
             message="the restarted actor to connect")
    assert time.monotonic() - killed < 2.0


def test_registry_down_cues_keep_flowing_and_it_comes_back_with_state(oscar, device):
    oscar.add_device("proj", device.port, backoff_min=0.1, backoff_max=0.5)
    oscar.wait_state("proj", "ready")
    supervisor = oscar.supervisor()

    supervisor.stopProcess("oscar-registry")
    cues(oscar, "proj", ["WHILE-REGISTRY-STOPPED"])
    wait_for(lambda: device.received == b"WHILE-REGISTRY-STOPPED\r",
             message="cue delivered without the registry")
    # Even an actor restart needs no registry: it starts from the last desired state on disk.
    pid = oscar.pid_of("oscar-device-proj")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: oscar.pid_of("oscar-device-proj") not in (0, pid),
             message="actor restarted while the registry is down")
    cues(oscar, "proj", ["AFTER-ACTOR-RESTART"])
    wait_for(lambda: device.received.endswith(b"AFTER-ACTOR-RESTART\r"), timeout=15,
             message="cue through the restarted actor, registry still down")

    supervisor.startProcess("oscar-registry")
    row = oscar.wait_state("proj", "ready")
    assert row["config"]["port"] == device.port
    assert [d["name"] for d in oscar.call("list")] == ["proj"]

    # kill -9 the registry: supervisord restarts it, cues never stop
    registry_pid = oscar.pid_of("oscar-registry")
    os.kill(registry_pid, signal.SIGKILL)
    cues(oscar, "proj", ["DURING-REGISTRY-CRASH"])
    wait_for(lambda: device.received.endswith(b"DURING-REGISTRY-CRASH\r"),
             message="cue during the registry crash")
    wait_for(lambda: oscar.pid_of("oscar-registry") not in (0, registry_pid),
             message="registry restarted")
    row = wait_for(lambda: (r := oscar.device_status("proj"))["sent"] >= 1 and r,
                   message="status rebuilt from the actor's heartbeat")
    assert row["state"] == "ready"
