"""The devices page and its live-update endpoint, and the test command box."""

from __future__ import annotations

import socket
import time

import zmq
from pythonosc.osc_message import OscMessage

from oscar import zmqutil
from oscar.messages import ActorStatus
from tests.support import wait_for
from tests.web.helpers import cell, device_row, post_form


def add(registry, name: str, **fields) -> dict:
    return registry.call("add", device={"name": name, "host": "127.0.0.1", "port": 9100,
                                        **fields})


def report(settings, registry, status: ActorStatus) -> None:
    """Send an actor status report to the registry the way an actor does (PUSH to events)."""
    ctx = zmq.Context.instance()
    push = zmqutil.socket(ctx, zmq.PUSH)
    push.connect(settings.events)
    try:
        push.send_multipart(status.encode())
        wait_for(lambda: registry.call("status", name=status.device)["devices"][0]["state"]
                 == status.state, timeout=5, message="registry to record the report")
    finally:
        push.close(linger=1000)


def test_devices_page_shows_each_device(client, registry):
    add(registry, "page-a", port=9101)
    add(registry, "page-b", port=9102, enabled=False)
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row_a = device_row(html, "page-a")
    assert cell(row_a, "address") == "127.0.0.1:9101"
    assert cell(row_a, "enabled") == "yes"
    assert cell(row_a, "state") == "actor not running"  # no supervisord in these tests
    row_b = device_row(html, "page-b")
    assert cell(row_b, "state") == "disabled"
    assert ">Enable</button>" in row_b and ">Disable</button>" not in row_b
    assert '<div id="banner" class="banner" role="alert" hidden>' in html  # registry up


def test_device_text_is_escaped_everywhere(settings, client, registry):
    add(registry, "xss")
    report(settings, registry, ActorStatus(
        device="xss", state="ready", since=time.time(), pid=0,
        last_reply="<script>alert('reply')</script>", last_reply_at=time.time(),
        last_error='<img src=x onerror="alert(1)">', last_error_at=time.time(),
        last_command="</code><b>cmd</b>"))
    page = client.get("/")
    html = page.get_data(as_text=True)
    row = device_row(html, "xss")
    assert cell(row, "last_reply") == "&lt;script&gt;alert(&#39;reply&#39;)&lt;/script&gt;"
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>cmd" not in html
    # and the browser would refuse to run inline script even if some slipped through
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # the live-update JSON carries the text as data (the page sets it with textContent)
    row_json = client.get("/api/status?name=xss").get_json()["devices"][0]
    assert row_json["cells"]["last_reply"] == "<script>alert('reply')</script>"


def test_live_status_json_has_display_text_for_each_cell(settings, client, registry):
    add(registry, "waiter", port=9103)
    report(settings, registry, ActorStatus(
        device="waiter", state="waiting", since=time.time(), pid=0, sent=7, dropped=2,
        in_flight=0, queued=3, accepted=12,
        next_retry_at=time.time() + 30, last_error="connection refused",
        last_error_at=time.time()))
    status = client.get("/api/status").get_json()
    row = next(r for r in status["devices"] if r["name"] == "waiter")
    assert row["state"] == "waiting"
    assert row["cells"]["state"] == "down"  # the countdown is shown apart from the state
    assert row["cells"]["retry"].startswith("retry in ")
    assert 25 <= int(row["cells"]["retry"].split()[-1].rstrip("s")) <= 30
    assert row["cells"]["since"].startswith("for ") and row["cells"]["since"].endswith(" s")
    assert (row["cells"]["sent"], row["cells"]["dropped"]) == ("7", "2")
    assert row["cells"]["queued"] == "3 queued" and row["in_flight"] == 0
    assert row["cells"]["last_error"] == "connection refused"
    assert row["cells"]["last_error_at"].endswith("s ago")
    assert "listener_text" in status


def test_send_test_command_goes_to_the_osc_listener(settings, client, registry):
    add(registry, "cue-me")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", settings.osc_udp_port))
        listener.settimeout(5)
        page = post_form(client, "/devices/cue-me/send", {"text": "%1POWR 1"}, follow=True)
        packet, _ = listener.recvfrom(65536)
    message = OscMessage(packet)
    assert message.address == "/device/cue-me/message"
    assert message.params == ["%1POWR 1"]
    assert "Sent &#39;%1POWR 1&#39; to cue-me" in page.get_data(as_text=True)


def test_send_to_a_disabled_device_is_refused_with_a_reason(client, registry):
    add(registry, "sleepy", enabled=False)
    page = post_form(client, "/devices/sleepy/send", {"text": "PWR ON"}, follow=True)
    assert "sleepy: not sent: the device is disabled" in page.get_data(as_text=True)


def test_empty_test_command_is_refused(client, registry):
    add(registry, "quiet")
    page = post_form(client, "/devices/quiet/send", {"text": ""}, follow=True)
    assert "quiet: not sent: type a command to send" in page.get_data(as_text=True)


def test_tags_are_shown_next_to_the_name(client, registry):
    add(registry, "tagged", tags="stage-left,proj")
    row = device_row(client.get("/").get_data(as_text=True), "tagged")
    assert cell(row, "tags") == "proj, stage-left"


def test_a_silent_actor_shows_stale_in_the_page_and_in_health(settings, client, registry):
    add(registry, "frozen")
    # Its last report is 20 s old: the actor's loop stopped turning (no supervisord in these
    # tests, so the heartbeat alone decides).
    report(settings, registry, ActorStatus(device="frozen", state="ready",
                                           since=time.time() - 30, pid=0, at=time.time() - 20))
    html = client.get("/").get_data(as_text=True)
    row = device_row(html, "frozen")
    assert 'data-stale="yes"' in row
    assert 20 <= int(cell(row, "heartbeat").removeprefix("stale ").rstrip("s")) < 40
    health = client.get("/api/health").get_json()
    assert "oscar-device-frozen" in health["stale"]
    assert health["actors"]["oldest_heartbeat_age"] >= 20

    report(settings, registry, ActorStatus(device="frozen", state="connecting",
                                           since=time.time(), pid=0))
    row_json = client.get("/api/status?name=frozen").get_json()["devices"][0]
    assert row_json["stale"] is False
    assert row_json["cells"]["heartbeat"] in ("heartbeat 0s ago", "heartbeat 1s ago",
                                              "heartbeat 2s ago")
    assert "oscar-device-frozen" not in client.get("/api/health").get_json()["stale"]


def test_page_sums_up_the_fleet_and_states_read_as_words(settings, client, registry):
    add(registry, "sum-up", port=9104)
    add(registry, "sum-down", port=9105)
    add(registry, "sum-off", port=9106, enabled=False)
    report(settings, registry, ActorStatus(device="sum-up", state="ready",
                                           since=time.time() - 7300, pid=0))
    report(settings, registry, ActorStatus(device="sum-down", state="waiting",
                                           since=time.time() - 200, pid=0,
                                           next_retry_at=time.time() + 3))
    html = client.get("/").get_data(as_text=True)
    # other tests' devices share the registry: count only this test's three by name
    rows = {name: device_row(html, name) for name in ("sum-up", "sum-down", "sum-off")}
    assert cell(rows["sum-up"], "state") == "ready"
    assert cell(rows["sum-down"], "state") == "down"
    assert cell(rows["sum-down"], "retry").startswith("retry in ")
    assert cell(rows["sum-off"], "state") == "disabled"
    status = client.get("/api/status").get_json()
    states = [r["state"] for r in status["devices"]]
    ready, disabled = states.count("ready"), states.count("disabled")
    summary = f"{ready} ready · {len(states) - ready - disabled} down · {disabled} disabled"
    assert status["summary_text"] == summary
    assert f'<strong id="summary" class="summary">{summary}</strong>' in html
    # details: a reset button that posts to the API, and the actions
    assert 'data-url="/api/devices/sum-up/reset">Reset counters</button>' in rows["sum-up"]
    assert 'class="edit"' in rows["sum-up"] and ">Send</button>" in rows["sum-up"]
    assert 'id="filter"' in html


def test_human_durations():
    from oscar.web.present import for_text, human_duration
    assert [human_duration(s) for s in (0, 59, 60, 3599, 3600, 7500, 36000 + 60, 90000)] == [
        "0 s", "59 s", "1 min", "59 min", "1 h", "2 h 5 min", "10 h", "1 d 1 h"]
    assert for_text(100.0, 280.0) == "for 3 min"
    assert for_text(0.0, 280.0) == ""
