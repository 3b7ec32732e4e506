"""Connection modes, keep-alive, dead links, UDP and pacing end to end under supervisord, against
the device emulators (tests/emulators). One Oscar serves the whole module; each test adds its own
devices and removes them at its end."""

from __future__ import annotations

import re
import time

import pytest

from tests.emulators import LineDevice, NTControl, PJLink, UdpEmulator, Videohub
from tests.integration.dialect_helpers import READY_STATES, added, cue, events, shown
from tests.support import free_port, wait_for

RETRY = re.compile(r"retry in ([0-9.]+)s")


def _gaps(commands) -> list[float]:
    """Seconds between consecutive arrivals, by the kernel's receive stamps."""
    return [b.wire_at - a.wire_at for a, b in zip(commands, commands[1:], strict=False)]


def test_per_command_device_takes_20_cues_100ms_apart_without_backoff(oscar_module):
    system, ttl, backoff_min = oscar_module, 3.0, 0.5
    ntc = {"name": "ntc", "profile": "ntcontrol", "username": "admin1", "password": "panasonic",
           "ttl": ttl, "backoff_min": backoff_min, "backoff_max": 10.0}
    with NTControl(username="admin1", password="panasonic") as device, \
            added(system, [{**ntc, "port": device.port}]):
        texts = ["PON", "POF", "QPW", "PON", "QPW"] * 4
        sent, waiting_rows = [], []
        for text in texts:
            sent.append(cue(system, "ntc", text))
            row = system.device_status("ntc")
            if row["state"] == "waiting":
                waiting_rows.append(row)
            time.sleep(max(0.0, sent[-1] + 0.1 - time.monotonic()))
        commands = device.wait_commands(20, timeout=ttl + 5)

        assert [c.text.decode() for c in commands] == texts
        assert device.refused == []
        assert len(device.accepts) == 20  # one connection per command, as this firmware wants
        late = [round(c.at - at, 2) for c, at in zip(commands, sent, strict=True)
                if c.at - at > ttl]
        assert not late, f"cues arrived after their {ttl} s TTL: {late}"
        row = wait_for(lambda: (r := system.device_status("ntc"))["sent"] == 20 and r,
                       message="20 sent")
        assert row["dropped"] == 0
        # Connections short by design are no failures: the backoff never grew past its minimum.
        delays = [float(m.group(1)) for e in events(system, "ntc")
                  for m in [RETRY.search(e["detail"])] if m]
        delays += [r["next_retry_at"] - r["at"] for r in waiting_rows if r["next_retry_at"]]
        assert all(delay <= backoff_min * 1.25 + 0.05 for delay in delays), delays


def test_on_demand_device_closes_when_idle_and_logs_in_again_for_the_next_cue(oscar_module):
    system, idle_close = oscar_module, 1.0
    with PJLink(password="JBMIAProjectorLink") as device, \
            added(system, [{"name": "pj", "profile": "pjlink", "port": device.port,
                            "password": "JBMIAProjectorLink", "idle_close": idle_close}]):
        cue(system, "pj", "%1POWR 1")
        device.wait_commands(1)
        wait_for(lambda: device.closes and device.closes[-1][2] == "client", timeout=5,
                 message="Oscar to close the idle connection")
        idle_for = device.closes[-1][0] - device.commands[0].at
        assert idle_close - 0.1 <= idle_for <= idle_close + 1.0, idle_for
        system.wait_state("pj", "idle")
        cue(system, "pj", "%1INPT 31")  # a fresh connection, a fresh random, a fresh hash
        device.wait_commands(2)
        assert device.texts == [b"%1POWR 1", b"%1INPT 31"] and device.refused == []
        assert len(device.accepts) == 2
        row = wait_for(lambda: (r := system.device_status("pj"))["sent"] == 2 and r,
                       message="2 sent")
        assert shown(row["last_reply"]) == "%1INPT=OK"


def test_keepalive_holds_a_connection_the_device_would_close_after_2s(oscar_module):
    system = oscar_module
    with LineDevice(idle_close=2.0) as kept, LineDevice(idle_close=2.0) as unkept, \
            added(system, [{"name": "kept", "port": kept.port, "keepalive": "PING",
                            "keepalive_interval": 0.5, "reply_timeout": 1.5},
                           {"name": "unkept", "port": unkept.port}]):  # the control
        system.wait_state("kept", "ready")
        time.sleep(10.0)
        assert len(kept.accepts) == 1, kept.closes
        assert kept.open_connections == 1
        assert len(kept.texts) >= 10 and set(kept.texts) == {b"PING"}
        assert len(unkept.accepts) >= 3, "the device closes a silent connection after 2 s"
        row = system.device_status("kept")
        assert row["state"] == "ready" and row["connects"] == 1, row
        # The keep-alive's answers are replies too.
        assert shown(row["last_reply"]) == "OK" and row["last_reply_at"] > 0


# (emulator, device fields, the keep-alive as the device receives it)
HANGING = {
    "generic": (LineDevice, {"keepalive": "PING"}, b"PING"),
    "videohub": (Videohub, {"profile": "videohub"}, b"PING:"),  # the profile's own PING:
}


@pytest.mark.parametrize("kind", list(HANGING))
def test_device_that_stops_answering_keepalives_is_reconnected(oscar_module, kind):
    system, interval, reply_timeout, backoff_min = oscar_module, 0.5, 1.0, 0.2
    emulator, fields, ping = HANGING[kind]
    with emulator(idle_close=None) as device, \
            added(system, [{"name": "mute", "port": device.port, **fields,
                            "keepalive_interval": interval, "reply_timeout": reply_timeout,
                            "backoff_min": backoff_min, "backoff_max": 1.0}]):
        system.wait_state("mute", "ready")
        wait_for(lambda: device.texts.count(ping) >= 2, message="keep-alives answered")
        assert len(device.accepts) == 1
        device.silent = True  # the device hangs: it still reads, but answers nothing
        went_silent = time.monotonic()
        wait_for(lambda: len(device.accepts) >= 2, timeout=10, message="a reconnect")
        took = device.accepts[1] - went_silent
        device.silent = False
        # Up to one keep-alive interval before the unanswered ping goes out, then the reply
        # timeout, then the first backoff step (+-25 % jitter), plus 0.5 s for scheduling.
        limit = interval + reply_timeout + backoff_min * 1.25 + 0.5
        assert took <= limit, f"reconnected {took:.2f} s after the device went silent"
        assert took >= reply_timeout, "reconnected before the reply timeout ran out"
        row = system.wait_state("mute", "ready")
        assert row["connects"] >= 2
        assert row["last_error"], row


def test_udp_device_gets_each_cue_as_one_datagram(oscar_module):
    system = oscar_module
    with UdpEmulator(reply=b"ACK\r") as device, \
            added(system, [{"name": "bright", "transport": "udp", "port": device.port,
                            "terminator": "\\r"}]):
        system.wait_state("bright", "ready")
        for text in ["PLAY", "PAUSE 2", "SEEK 10\\x2C5", "STOP"]:
            cue(system, "bright", text)
        wait_for(lambda: len(device.datagrams) >= 4, message="4 datagrams")
        assert device.payloads == [b"PLAY\r", b"PAUSE 2\r", b"SEEK 10,5\r", b"STOP\r"]
        row = wait_for(lambda: (r := system.device_status("bright"))["replies"] >= 1 and r,
                       message="the device's answer read as a reply")
        assert shown(row["last_reply"]) == "ACK"
        assert row["state"] == "ready" and row["sent"] == 4, row


def test_udp_device_with_nothing_listening_stays_ready_and_shows_the_error(oscar_module):
    system = oscar_module
    with added(system, [{"name": "nobody", "transport": "udp", "port": free_port()}]):
        system.wait_state("nobody", "ready")

        def error_shown():
            cue(system, "nobody", "ANYONE")  # ICMP port unreachable answers the datagram
            return (row := system.device_status("nobody"))["last_error"] and row
        row = wait_for(error_shown, interval=0.3, message="the ICMP error as the last error")
        assert re.search("refused|unreachable", row["last_error"], re.I), row["last_error"]
        assert row["state"] == "ready", row


def test_wait_for_reply_sends_the_next_command_after_the_answer(oscar_module):
    system, answer_takes = oscar_module, 0.4
    with LineDevice(idle_close=None) as device, \
            added(system, [{"name": "slow", "port": device.port, "wait_for_reply": True,
                            "reply_timeout": 2.0}]):
        device.reply_delay = answer_takes  # a slow device (JVC, For.A): one thing at a time
        system.wait_state("slow", "ready")
        texts = ["A", "B", "C", "D"]
        for text in texts:
            cue(system, "slow", text)
        commands = device.wait_commands(4, timeout=10)
        assert [c.text.decode() for c in commands] == texts
        gaps = _gaps(commands)
        assert min(gaps) >= answer_takes, [round(g, 4) for g in gaps]
        assert max(gaps) <= answer_takes + 0.5, [round(g, 4) for g in gaps]
        assert len(device.accepts) == 1  # answered in time: no reconnect
        row = wait_for(lambda: (r := system.device_status("slow"))["replies"] == 4 and r,
                       message="four answers read")
        assert row["state"] == "ready" and row["sent"] == 4, row


def test_min_gap_spaces_commands(oscar_module):
    system, gap = oscar_module, 0.3
    with LineDevice(idle_close=None) as device, \
            added(system, [{"name": "paced", "port": device.port, "min_gap": gap}]):
        system.wait_state("paced", "ready")
        texts = [f"GO {i}" for i in range(6)]
        for text in texts:  # a burst: all six within a few milliseconds
            cue(system, "paced", text)
        commands = device.wait_commands(6, timeout=10)
        assert [c.text.decode() for c in commands] == texts
        # Arrival = the kernel's receive stamp, so this process's thread scheduling adds no
        # jitter: never closer than the gap; later only by Oscar's scheduling jitter. (The
        # stamp is precise: a pacer that stamps its writes after they return never shows a
        # gap under its minimum here, checked over hundreds of writes.)
        gaps = _gaps(commands)
        assert min(gaps) >= gap, [round(g, 6) for g in gaps]
        assert max(gaps) <= gap + 0.25, [round(g, 4) for g in gaps]
        assert system.device_status("paced")["state"] in READY_STATES
