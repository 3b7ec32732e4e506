"""Issue 9 in headless Chromium: the Activity page's filters (device, kind, since, until) over
the events history, the live list keeping them, and the CSV link carrying them."""

from __future__ import annotations

import time

import zmq
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from oscar import zmqutil
from oscar.messages import Event
from tests.browser.conftest import web_url
from tests.browser.test_web_ui import activity_rows, until
from tests.support import noon_today, wait_for


def push_events(system) -> None:
    """Two devices' events, one a minute from noon today, as actors push them."""
    noon = noon_today().timestamp()  # now, not at import: a run may cross midnight
    ctx = zmq.Context()
    push = zmqutil.socket(ctx, zmq.PUSH)
    push.setsockopt(zmq.LINGER, 2000)
    zmqutil.connect(push, system.settings.events, system.settings.home)
    for minute in range(10):
        for device, kind in (("lamp", "sent"), ("deck", "reply")):
            push.send_multipart(Event("device", kind, f"{device} {kind} {minute}", device=device,
                                      sender="127.0.0.1:5000", at=noon + minute * 60).encode())
    push.close()
    ctx.term()
    wait_for(lambda: len(system.call("activity", device="deck", limit=50)) == 10,
             message="events in the history")


def details(driver) -> list[str]:
    return [row["cells"][3] for row in activity_rows(driver)]


def test_activity_filters_work_in_the_browser(system, browser):
    push_events(system)
    browser.get(web_url(system, "/activity"))
    until(browser, lambda d: "deck reply 9" in details(d), message="all events listed")

    # choosing a kind submits the form at once (script); the time fields go with Filter
    Select(browser.find_element(By.ID, "kind")).select_by_value("reply")
    until(browser, lambda d: "kind=reply" in d.current_url, message="kind applied")
    since = browser.find_element(By.ID, "since")
    since.clear()
    since.send_keys("12:03")
    until_field = browser.find_element(By.ID, "until")
    until_field.clear()
    until_field.send_keys("12:05")
    browser.find_element(By.CSS_SELECTOR, "#activity-filter button[type=submit]").click()
    until(browser, lambda d: "until=12%3A05" in d.current_url, message="times applied")
    expected = ["deck reply 5", "deck reply 4", "deck reply 3"]
    assert until(browser, lambda d: details(d) == expected and details(d),
                 message="the filtered list") == expected
    # the live list (polled every 2 s) keeps the filters
    time.sleep(2.5)
    assert details(browser) == expected
    assert browser.find_element(By.ID, "since").get_attribute("value") == "12:03"
    href = browser.find_element(By.ID, "csv-link").get_attribute("href")
    assert "format=csv" in href and "kind=reply" in href and "since=12%3A03" in href

    # a device filter (a link, as an operator bookmarks it), then a bad time: said next to
    # the form, nothing listed
    browser.get(web_url(system, "/activity?device=lamp&kind=sent&since=12:08"))
    assert until(browser, lambda d: details(d) == ["lamp sent 9", "lamp sent 8"] and details(d),
                 message="lamp since 12:08")
    browser.get(web_url(system, "/activity?since=soonish"))
    error = browser.find_element(By.ID, "error-since").text
    assert "is not a time" in error
    assert details(browser) == []
    browser.find_element(By.ID, "clear-filter").click()
    until(browser, lambda d: "lamp sent 0" in details(d) and "deck reply 0" in details(d),
          message="everything again after Clear")
