"""The listener line of ``oscar status`` and the web page: refusals, drops, scheduled cues."""

from oscar.cli_format import status_table
from oscar.web.present import listener_text

LISTENER = {"udp_port": 53999, "tcp_port": 53999,
            "counters": {"packets": 12, "forwarded": 9, "scheduled": 3, "cancelled": 1,
                         "expired": 1, "receipts": 4, "tcp_connections": 2, "tcp_evicted": 1,
                         "tcp_idle_closed": 1, "resent": 2, "bad_hex": 1, "not_allowed": 2}}


def test_scheduled_cues_and_drops_are_not_counted_as_rejections():
    line = status_table({"devices": [], "listener": LISTENER}).splitlines()[-1]
    assert line == ("listener: UDP 53999, TCP 53999; 12 packets, 9 forwarded, 3 rejected, "
                    "2 dropped, 3 scheduled")
    assert listener_text(LISTENER) == ("UDP 53999, TCP 53999; 12 packets, 9 forwarded, "
                                       "3 rejected, 2 dropped, 3 scheduled")


def test_nothing_pending_says_nothing_extra():
    quiet = {**LISTENER, "counters": {"packets": 1, "forwarded": 1, "scheduled": 0}}
    assert status_table({"devices": [], "listener": quiet}).splitlines()[-1] == (
        "listener: UDP 53999, TCP 53999; 1 packets, 1 forwarded, 0 rejected")
