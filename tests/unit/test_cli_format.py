import time

import pytest

from oscar.cli_format import ago, status_table, table

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s ago"),
        (-5, "0s ago"),  # a clock a little ahead of ours
        (5.4, "5s ago"),
        (59.9, "59s ago"),
        (60, "1m ago"),
        (119, "1m ago"),
        (3599, "59m ago"),
        (3600, "1.0h ago"),
        (5400, "1.5h ago"),
        (86399, "23.9h ago"),
    ],
)
def test_ago(seconds, text):
    assert ago(NOW - seconds, now=NOW) == text


def test_ago_older_than_a_day_shows_the_local_date():
    then = NOW - 2 * 86400
    assert ago(then, now=NOW) == time.strftime("%Y-%m-%d %H:%M", time.localtime(then))


def test_ago_of_never_is_a_dash():
    assert ago(0.0, now=NOW) == "-"


def test_table_aligns_columns_and_strips_trailing_spaces():
    assert table(["DEVICE", "SENT", "LAST ERROR"],
                 [["proj1", 3, ""], ["switcher", 12, "refused"]]) == (
        "DEVICE    SENT  LAST ERROR\n"
        "proj1     3\n"
        "switcher  12    refused"
    )


def test_table_with_no_rows_is_the_header():
    assert table(["DEVICE", "STATE"], []) == "DEVICE  STATE"


def status_row(**changes):
    return {"name": "proj1", "config": {"host": "10.0.0.5", "port": 4352}, "state": "connected",
            "since": 0.0, "sent": 3, "dropped": 1, "last_error": "", "process": "RUNNING",
            **changes}


def test_status_table_shows_devices_and_listener_counters():
    text = status_table({
        "devices": [status_row(last_error="x" * 80)],
        "listener": {"udp_port": 53999, "tcp_port": 53998,
                     "counters": {"packets": 10, "forwarded": 6, "tcp_connections": 2,
                                  "malformed": 1, "unknown_device": 3}},
        "supervisor_error": "cannot reach supervisord",
    })
    lines = text.splitlines()
    assert lines[0].split() == ["DEVICE", "ADDRESS", "STATE", "SINCE", "SENT", "DROPPED",
                                "HEARTBEAT", "LAST", "ERROR", "PROCESS"]
    assert lines[1].split() == ["proj1", "10.0.0.5:4352", "connected", "-", "3", "1", "-",
                                "x" * 60, "RUNNING"]
    assert lines[3] == "listener: UDP 53999, TCP 53998; 10 packets, 6 forwarded, 4 rejected"
    assert lines[4] == "supervisord: cannot reach supervisord"


def test_status_table_shows_heartbeat_ages_and_stale_loops():
    text = status_table({
        "devices": [status_row(heartbeat_age=1.7, stale=False),
                    status_row(name="sw", heartbeat_age=12.2, stale=True)],
        "listener": {"udp_port": 53999, "tcp_port": 53998, "counters": {}, "age": 9.5,
                     "stale": True},
    })
    lines = text.splitlines()
    assert lines[1].split()[6] == "1s"
    assert lines[2].split()[6:8] == ["stale", "12s"]
    assert lines[4].endswith("; heartbeat stale 9s")


def test_status_table_without_devices_or_listener_says_so():
    assert status_table({"devices": []}) == (
        "no devices (add one: oscar device add NAME HOST PORT)\n\nlistener: no report yet"
    )


def test_status_table_shows_commands_in_flight_and_queued_beside_dropped():
    text = status_table({"devices": [status_row(in_flight=2, queued=3),
                                     status_row(name="sw", in_flight=0, queued=4)]})
    lines = text.splitlines()
    assert "  1 (2 in flight, 3 queued)  " in lines[1]
    assert "  1 (4 queued)  " in lines[2]
