"""A listener whose loop stops turning is restarted by its watchdog, and cues flow again.

The stall comes from a test-only hook: with OSCAR_TEST_STALL_ON=/stall the listener sleeps for
good when it receives that OSC address over UDP (what a decoder stuck in a loop looks like).
"""

from __future__ import annotations

import shutil
import time

from tests.support import OscarSystem, osc_message, wait_for

STALL_AFTER = 3.0


def test_a_stalled_listener_is_restarted_and_cues_arrive_again(device):
    system = OscarSystem(extra_env={"OSCAR_STALL_AFTER": str(STALL_AFTER),
                                    "OSCAR_TEST_STALL_ON": "/stall"}).start()
    try:
        system.add_device("proj1", device.port)
        system.send_udp(osc_message("/device/proj1/message", "before"))
        wait_for(lambda: b"before" in device.lines(), timeout=15, message="first cue")
        old_pid = system.pid_of("oscar-listener")

        def restarted() -> bool:
            # State and pid from one getAllProcessInfo: two calls could pair the old process's
            # last RUNNING with the new one's pid while it is still STARTING (not yet bound).
            info = system.processes()["oscar-listener"]
            return info["statename"] == "RUNNING" and info["pid"] not in (0, old_pid)

        stalled_at = time.monotonic()
        system.send_udp(osc_message("/stall"))
        # stall_after, then supervisord's restart with startsecs=1: a generous window.
        wait_for(restarted, timeout=STALL_AFTER + 15, interval=0.2,
                 message="a new listener process")
        print(f"new listener RUNNING {time.monotonic() - stalled_at:.1f}s after the stall "
              f"(stall_after {STALL_AFTER:g}s)")
        # RUNNING only means "up for startsecs" (1 s); on a busy machine the new listener may
        # not have bound its UDP port yet, and a datagram sent before that is lost. A user
        # waits until `oscar status` shows the new listener: its heartbeat carries its pid.
        wait_for(system.listener_reporting, timeout=20, message="the new listener reporting")
        log = (system.home / "logs" / "oscar-listener.log").read_text()
        assert f"oscar-listener[{old_pid}] CRITICAL" in log
        assert "main loop stalled for" in log and "stall_forever" in log  # the stack

        system.send_udp(osc_message("/device/proj1/message", "after"))
        wait_for(lambda: b"after" in device.lines(), timeout=15, message="cue after restart")
    finally:
        system.stop()
    shutil.rmtree(system.home, ignore_errors=True)
