"""Picking a profile in the real browser fills its defaults in (web/static/device_form.js, from
the page's JSON blob) and what is saved is what the form showed."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import web_url

pytestmark = pytest.mark.browser


def value(driver, field: str) -> str:
    return driver.find_element(By.ID, field).get_attribute("value")


def checked(driver, field: str) -> bool:
    return driver.find_element(By.ID, field).is_selected()


def pick(driver, profile: str) -> None:
    Select(driver.find_element(By.ID, "profile")).select_by_value(profile)


def test_picking_a_profile_fills_its_defaults_and_keeps_what_the_operator_typed(system,
                                                                                 browser):
    browser.get(web_url(system, "/devices/new"))
    section = browser.find_element(By.ID, "dialect")
    assert section.get_attribute("open") is None  # the simple case stays simple
    assert value(browser, "port") == ""

    pick(browser, "pjlink")
    assert section.get_attribute("open") is not None
    assert value(browser, "port") == "4352"
    assert value(browser, "connection") == "on-demand"
    assert value(browser, "idle_close") == "25"
    assert value(browser, "reply_timeout") == "3"
    assert checked(browser, "wait_for_reply")
    assert "PJLINK" in browser.find_element(By.ID, "profile-notes").text

    port = browser.find_element(By.ID, "port")
    port.clear()
    port.send_keys("14352")  # the operator's own port
    pick(browser, "watchout")
    assert value(browser, "port") == "14352"
    assert value(browser, "on_connect") == "authenticate 1"
    assert value(browser, "connection") == "persistent"  # pjlink's default: back to generic's
    assert not checked(browser, "wait_for_reply")

    browser.find_element(By.ID, "name").send_keys("dia-browser")
    browser.find_element(By.ID, "host").send_keys("127.0.0.1")
    browser.find_element(By.ID, "save").click()
    WebDriverWait(browser, 20).until(
        lambda d: "Added dia-browser" in d.find_element(By.TAG_NAME, "body").text)
    saved = system.call("get", name="dia-browser")
    assert (saved["profile"], saved["port"], saved["on_connect"], saved["connection"]) == (
        "watchout", 14352, ["authenticate 1"], "persistent")
