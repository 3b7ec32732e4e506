"""Devices added, disabled and removed at run time become supervisord programs, and go."""

import shutil

from tests.support import OscarSystem, osc_message, wait_for


def test_add_disable_enable_remove_device_programs(oscar, device):
    oscar.add_device("proj1", device.port)
    status = oscar.ctl("status")
    assert "oscar-device-proj1" in status.stdout and "RUNNING" in status.stdout
    assert (oscar.settings.programs_dir / "oscar-device-proj1.conf").exists()
    oscar.wait_state("proj1", "ready")

    oscar.call("disable", name="proj1")
    wait_for(lambda: oscar.program_state("oscar-device-proj1") == "ABSENT",
             message="disabled device's program removed")
    assert oscar.device_status("proj1")["state"] == "disabled"
    before = oscar.listener_counters().get("disabled_device", 0)
    oscar.send_udp(osc_message("/device/proj1/message", "NOPE"))
    wait_for(lambda: oscar.listener_counters().get("disabled_device", 0) == before + 1,
             message="cue to a disabled device refused and counted")

    oscar.call("enable", name="proj1")
    wait_for(lambda: oscar.program_state("oscar-device-proj1") == "RUNNING",
             message="program back after enable")
    oscar.wait_state("proj1", "ready")
    oscar.send_udp(osc_message("/device/proj1/message", "YES"))
    wait_for(lambda: device.received.endswith(b"YES\r"), message="cue after re-enable")
    assert b"NOPE" not in device.received

    result = oscar.cli("device", "remove", "proj1")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: "oscar-device-proj1" not in oscar.ctl("status").stdout,
             message="program gone from supervisorctl status")
    assert not (oscar.settings.programs_dir / "oscar-device-proj1.conf").exists()
    assert oscar.call("list") == []


def test_cli_errors_are_clear(oscar):
    result = oscar.cli("device", "add", "bad name", "127.0.0.1", "70000")
    assert result.returncode == 2
    assert "name:" in result.stderr and "port:" in result.stderr and "65535" in result.stderr
    result = oscar.cli("device", "remove", "ghost")
    assert result.returncode == 4 and "ghost" in result.stderr  # not found


def test_cli_says_how_to_start_oscar_when_registry_is_down(oscar):
    oscar.supervisor().stopProcess("oscar-registry")
    result = oscar.cli("status")
    assert result.returncode == 3
    # A stopped registry removes its socket file: said at once, with where to look.
    assert "Oscar is not running (no control socket at" in result.stderr
    assert "make run" in result.stderr and "oscar-registry.log" in result.stderr


def test_whole_restart_reconciles_device_programs_from_the_store(device):
    first = OscarSystem().start()
    try:
        first.add_device("keep", device.port)
        first.call("add", device={"name": "off", "host": "127.0.0.1", "port": device.port,
                                  "enabled": False})
        first.wait_state("keep", "ready")
    finally:
        first.stop()
    # A leftover program file for a device that no longer exists must not come back.
    stale = first.settings.programs_dir / "oscar-device-ghost.conf"
    stale.write_text((first.settings.programs_dir / "oscar-device-keep.conf").read_text()
                     .replace("keep", "ghost"))
    again = OscarSystem(home=first.home).start()
    try:
        again.wait_state("keep", "ready")
        wait_for(lambda: again.program_state("oscar-device-ghost") == "ABSENT"
                 and not stale.exists(), message="stale program removed")
        assert again.program_state("oscar-device-off") == "ABSENT"
        assert [d["name"] for d in again.call("list")] == ["keep", "off"]
    finally:
        again.stop()
        shutil.rmtree(first.home, ignore_errors=True)


def test_restart_command_gives_a_new_actor_that_reconnects(oscar, device):
    oscar.add_device("proj", device.port)
    oscar.wait_state("proj", "ready")
    pid = oscar.pid_of("oscar-device-proj")
    result = oscar.cli("restart", "proj")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: oscar.pid_of("oscar-device-proj") not in (0, pid),
             message="a new actor process")
    row = oscar.wait_state("proj", "ready")
    assert row["pid"] != pid
    oscar.send_udp(osc_message("/device/proj/message", "AFTER"))
    wait_for(lambda: device.received == b"AFTER\r", message="cue through the new actor")
