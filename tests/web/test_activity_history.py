"""The Activity page's filters and CSV export, /api/activity, and the feedback targets (System
page form and /api/feedback), against a real registry fed real events over ZeroMQ."""

import csv
import io
from datetime import datetime

import pytest
import zmq

from oscar.messages import Event
from tests.support import noon_today, wait_for
from tests.web.helpers import input_value, post_form, select_options, text_of


@pytest.fixture(scope="module")
def today() -> datetime:
    """Noon today, taken when this module's tests start (not at import: a run may cross
    midnight before it gets here)."""
    return noon_today()


@pytest.fixture(scope="module")
def events(settings, registry, today):
    """Events of two devices around noon today, one a minute, as an actor would push them."""
    noon = today.timestamp()
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 2000)
    push.connect(settings.events)
    sent = []
    for minute in range(10):
        for device, kind in (("hist-a", "sent"), ("hist-b", "reply")):
            event = Event("device", kind, f"{device} {kind} {minute}", device=device,
                          sender="127.0.0.1:5000", at=noon + minute * 60)
            push.send_multipart(event.encode())
            sent.append(event)
    tricky = Event("device", "reply", 'say "hi", then=1\nnext', device="hist-c",
                   sender="=cmd", at=noon + 30)
    push.send_multipart(tricky.encode())
    push.close()
    ctx.term()
    wait_for(lambda: len(registry.call("activity", device="hist-c")) == 1
             and len(registry.call("activity", device="hist-b", limit=100)) == 10,
             message="events in the history")
    return sent


def details(response) -> list[str]:
    return [e["detail"] for e in response.get_json()]


def test_api_filters_by_device_kind_and_time(client, events, today):
    answer = client.get("/api/activity?device=hist-b&since=12:02&until=12:04")
    assert answer.status_code == 200
    assert details(answer) == ["hist-b reply 4", "hist-b reply 3", "hist-b reply 2"]
    answer = client.get("/api/activity?kind=sent&since=12:08")
    assert [d for d in details(answer) if d.startswith("hist-")] == ["hist-a sent 9",
                                                                    "hist-a sent 8"]
    day = today.strftime("%Y-%m-%d")
    answer = client.get(f"/api/activity?device=hist-a&since={day} 12:05&limit=2")
    assert details(answer) == ["hist-a sent 9", "hist-a sent 8"]
    assert answer.get_json()[0]["cells"]["who"] == "hist-a"


@pytest.mark.parametrize(("query", "field"), [
    ("since=soon", "since"), ("until=25:00", "until"), ("since=12:05&until=12:01", "until")])
def test_api_refuses_a_bad_time_naming_the_field(client, query, field):
    answer = client.get(f"/api/activity?{query}")
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["code"] == "invalid" and field in body["fields"]
    assert "20:30" in body["fields"][field] or "before" in body["fields"][field]


def test_api_csv_export(client, events, today):
    answer = client.get("/api/activity?format=csv&device=hist-a&until=12:03")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True), newline="")))
    assert rows[0] == ["time", "unix_time", "device", "source", "event", "detail", "sender"]
    assert [r[5] for r in rows[1:]] == [f"hist-a sent {m}" for m in range(4)]  # oldest first
    assert rows[1][0].startswith(today.strftime("%Y-%m-%d") + " 12:00:00")
    text = client.get("/api/activity?format=csv&device=hist-c").get_data(as_text=True)
    assert '"say ""hi"", then=1\nnext"' in text
    row = list(csv.reader(io.StringIO(text, newline="")))[1]
    assert row[5] == 'say "hi", then=1\nnext' and row[6] == "'=cmd"
    assert client.get("/api/activity?format=xml").status_code == 400


def test_page_filters_with_a_plain_get_form(client, events):
    page = client.get("/activity?device=hist-b&kind=reply&since=12:07")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    table = text_of(html, "activity")
    assert "hist-b reply 9" in table and "hist-b reply 7" in table
    assert "hist-b reply 6" not in table and "hist-a" not in table
    # the form shows what was asked, so the next submit keeps it
    assert input_value(html, "device") == "hist-b"
    assert input_value(html, "kind") == "reply"
    assert input_value(html, "since") == "12:07"
    assert "sent" in select_options(html, "kind")
    # the live updates and the CSV link carry the same filters
    assert 'data-activity-url="/api/activity?device=hist-b&amp;kind=reply&amp;since=12%3A07' \
        in html
    assert ('href="/api/activity?device=hist-b&amp;kind=reply&amp;since=12%3A07&amp;'
            'format=csv&amp;limit=20000"') in html


def test_page_says_where_the_history_is_kept(client):
    html = client.get("/activity").get_data(as_text=True)
    assert "history.sqlite" in html and "7 days or 1,000,000 events" in html
    assert "2000 in memory" not in html


def test_page_shows_a_bad_time_next_to_the_form(client):
    page = client.get("/activity?since=half+past")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "is not a time" in text_of(html, "error-since")
    assert input_value(html, "since") == "half past"
    assert "data-activity-url" not in html
    assert 'id="csv-link"' not in html  # no export of a filter that says nothing


def test_page_with_no_match(client, events):
    html = client.get("/activity?device=hist-a&kind=reply").get_data(as_text=True)
    assert "No matching events." in text_of(html, "activity")


# ---- feedback targets -----------------------------------------------------------------------

def test_feedback_api_get_and_put(client, registry):
    assert client.get("/api/feedback").get_json() == {"targets": [], "source": "setting"}
    answer = client.put("/api/feedback", json={"targets": ["UDP://127.0.0.1:9000",
                                                           "tcp://localhost:9100"]})
    assert answer.status_code == 200
    assert answer.get_json() == {"targets": ["udp://127.0.0.1:9000", "tcp://localhost:9100"],
                                 "source": "store"}
    assert registry.call("feedback_get")["targets"] == ["udp://127.0.0.1:9000",
                                                         "tcp://localhost:9100"]
    bad = client.put("/api/feedback", json={"targets": ["udp://127.0.0.1:9000", "udp://x"]})
    assert bad.status_code == 400
    assert bad.get_json()["code"] == "invalid" and "targets[1]" in bad.get_json()["fields"]
    assert client.put("/api/feedback", json={"list": []}).status_code == 400
    assert client.get("/api/feedback").get_json()["targets"] == ["udp://127.0.0.1:9000",
                                                                 "tcp://localhost:9100"]
    client.put("/api/feedback", json={"targets": []})


def test_feedback_form_on_the_system_page(client, registry):
    page = client.get("/system").get_data(as_text=True)
    assert text_of(page, "feedback") is not None
    done = post_form(client, "/system/feedback",
                     {"targets": "udp://127.0.0.1:9001\ntcp://127.0.0.1:9002\n"}, follow=True)
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert "Saved 2 feedback targets." in html
    assert text_of(html, "feedback-current") == "udp://127.0.0.1:9001 tcp://127.0.0.1:9002"
    assert registry.call("feedback_get") == {
        "targets": ["udp://127.0.0.1:9001", "tcp://127.0.0.1:9002"], "source": "store"}
    refused = post_form(client, "/system/feedback",
                        {"targets": "udp://127.0.0.1:9001\nudp://127.0.0.1:99999"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "line 2:" in html and "99999" in html
    assert "udp://127.0.0.1:99999" in text_of(html, "feedback-targets")  # what was typed stays
    assert registry.call("feedback_get")["targets"] == ["udp://127.0.0.1:9001",
                                                         "tcp://127.0.0.1:9002"]
    post_form(client, "/system/feedback", {"targets": ""})
    assert registry.call("feedback_get")["targets"] == []


def test_feedback_form_needs_the_csrf_token(client, registry):
    before = registry.call("feedback_get")
    answer = client.post("/system/feedback", data={"targets": "udp://127.0.0.1:1"})
    assert answer.status_code == 400
    assert registry.call("feedback_get") == before


def test_history_facts_on_the_system_page(client, events):
    html = client.get("/system").get_data(as_text=True)
    facts = text_of(html, "history")
    assert "history.sqlite" in facts and "7 days or 1,000,000 events" in facts
