"""The devices page at a glance, at laptop sizes, with a real fleet: 15 devices down (closed
ports) and one real (fake) projector, in headless Chromium against a whole Oscar."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import web_url
from tests.browser.test_web_ui import until
from tests.support import FakeDevice, free_port, osc_message, wait_for

pytestmark = pytest.mark.browser
DOWN = [f"stage-{i:02}-projector-left" for i in range(1, 16)]  # long names on purpose


@pytest.fixture(scope="module")
def fleet(system):
    real = FakeDevice().start()
    try:
        system.call("add", device={"name": "a-real-proj", "host": "127.0.0.1",
                                   "port": real.port, "tags": "real,proj", "backoff_max": 1})
        for name in DOWN:  # nothing listens on these ports: each device is down
            system.call("add", device={"name": name, "host": "127.0.0.1", "port": free_port(),
                                       "tags": "stage,left,projectors"})
        wait_for(lambda: [r["state"] for r in system.call("status")["devices"]].count("waiting")
                 == len(DOWN) and system.device_status("a-real-proj")["state"] == "ready",
                 timeout=90, message="15 devices down and one ready")
        yield real
    finally:
        real.stop()


def set_viewport(driver, width: int, height: int) -> None:
    """An exact inner size (what a laptop of that resolution shows), not the window size."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def rect(driver, element) -> dict:
    return driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", element)


def visible_names(driver) -> list[str]:
    return driver.execute_script("""return Array.from(document.querySelectorAll(
        "tbody[data-device]")).filter(b => !b.hidden).map(b => b.dataset.device);""")


@pytest.mark.parametrize("width, height", [(1024, 768), (1280, 800)])
def test_fifteenth_device_fits_without_scrolling(system, browser, fleet, tmp_path,
                                                 width, height):
    set_viewport(browser, width, height)
    try:
        browser.get(web_url(system))
        until(browser, lambda d: d.find_element(By.ID, "summary").text
              == "1 ready · 15 down · 0 disabled", message="the connection summary")
        rows = browser.find_elements(By.CSS_SELECTOR, "tbody[data-device]")
        assert len(rows) == 16
        fifteenth = rows[14]
        until(browser, lambda d: fifteenth.find_element(By.CSS_SELECTOR, "td.error").text,
              message="the 15th device's last error")
        shot = tmp_path / f"devices-{width}x{height}.png"
        browser.save_screenshot(str(shot))
        print(f"\ndevices page at {width}x{height}: {shot}")

        inner_w, inner_h, scroll_w = browser.execute_script(
            "return [innerWidth, innerHeight, document.documentElement.scrollWidth]")
        assert (inner_w, inner_h) == (width, height)
        assert scroll_w <= inner_w, "the page scrolls sideways"
        for what, selector in [("Send button", ".send button"), ("Edit link", "a.edit"),
                               ("last error", "td.error")]:
            box = rect(browser, fifteenth.find_element(By.CSS_SELECTOR, selector))
            assert box["left"] >= 0 and box["right"] <= inner_w, (what, box)
            assert box["top"] >= 0 and box["bottom"] <= inner_h, (what, box)
        # The state reads as words, with how long, and the retry countdown apart.
        assert fifteenth.find_element(By.CSS_SELECTOR, '[data-field="state"]').text == "down"
        assert fifteenth.find_element(By.CSS_SELECTOR, '[data-field="since"]').text \
            .startswith("for ")
        assert fifteenth.find_element(By.CSS_SELECTOR, '[data-field="retry"]').text \
            .startswith("retr")
        # the full error is in the cell's title while the row shows it cut short
        error = fifteenth.find_element(By.CSS_SELECTOR, "td.error")
        assert error.get_attribute("title") == \
            fifteenth.find_element(By.CSS_SELECTOR, '[data-field="last_error"]') \
            .get_attribute("textContent")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def filter_by(driver, text: str) -> list[str]:
    """Escape (clears the filter and leaves it), "/" (back into it), then type: the names left."""
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    ActionChains(driver).send_keys("/").perform()
    assert driver.switch_to.active_element.get_attribute("id") == "filter"
    ActionChains(driver).send_keys(text).perform()
    return visible_names(driver)


def test_slash_focuses_the_filter_and_typing_narrows_the_list(system, browser, fleet):
    browser.get(web_url(system))
    until(browser, lambda d: len(visible_names(d)) == 16, message="all 16 devices")
    assert filter_by(browser, "stage-07") == ["stage-07-projector-left"]  # by name
    assert filter_by(browser, "ready") == ["a-real-proj"]  # by state
    assert filter_by(browser, "projectors") == DOWN  # by tag
    assert filter_by(browser, "down") == DOWN
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    assert len(visible_names(browser)) == 16


def test_details_open_from_the_keyboard_and_reset_asks_first(system, browser, fleet, tmp_path):
    browser.get(web_url(system))
    body = until(browser, lambda d: d.find_element(By.CSS_SELECTOR,
                                                   'tbody[data-device="a-real-proj"]'),
                 message="the real device's row")
    details = body.find_element(By.CSS_SELECTOR, "tr.details")
    assert not details.is_displayed()
    toggle = body.find_element(By.CSS_SELECTOR, "button.expand")
    toggle.send_keys(Keys.ENTER)
    assert details.is_displayed() and toggle.get_attribute("aria-expanded") == "true"
    for label in ("Disable", "Restart actor", "Reset counters", "Delete"):
        assert label in details.text
    assert "Last reply" in details.text
    shot = tmp_path / "devices-details.png"
    browser.save_screenshot(str(shot))
    print(f"\ndevices page with one device's details open: {shot}")

    system.send_udp(osc_message("/device/a-real-proj/message", "PWR?"))
    sent = body.find_element(By.CSS_SELECTOR, '[data-field="sent"]')
    until(browser, lambda d: sent.text == "1", message="one command sent")
    body.find_element(By.CSS_SELECTOR, "button.reset").click()
    until(browser, lambda d: d.switch_to.alert, message="the confirmation").dismiss()
    assert body.find_element(By.CSS_SELECTOR, ".reset-result").text == ""  # nothing done
    body.find_element(By.CSS_SELECTOR, "button.reset").click()
    until(browser, lambda d: d.switch_to.alert, message="the confirmation").accept()
    result = until(browser, lambda d: body.find_element(By.CSS_SELECTOR, ".reset-result").text,
                   message="the reset result")
    # Until the registry's reset op exists the page says so instead of failing silently.
    assert result in ("Counters reset.",
                      "This Oscar cannot reset counters yet (no such API call)."), result
    if result == "Counters reset.":
        until(browser, lambda d: sent.text == "0", message="the sent counter back to 0")
    toggle.click()
    assert not details.is_displayed()


def test_registry_down_banner_on_top_and_the_last_table_kept(system, browser, fleet,
                                                                  tmp_path):
    browser.get(web_url(system))
    until(browser, lambda d: len(visible_names(d)) == 16, message="all 16 devices")
    system.supervisor().stopProcess("oscar-registry")
    try:
        banner = until(browser, lambda d: d.find_element(By.ID, "banner").is_displayed()
                       and d.find_element(By.ID, "banner"), timeout=15, message="the banner")
        assert "Registry not reachable" in banner.text
        assert rect(browser, banner)["top"] < 60, "the banner is not at the top"
        table = browser.find_element(By.ID, "devices")
        assert "stale" in table.get_attribute("class").split()
        assert len(visible_names(browser)) == 16, "the last known table was not kept"
        note = browser.find_element(By.ID, "stale-note").text
        assert note.startswith("Table shows the last known state, at "), note
        shot = tmp_path / "devices-registry-down.png"
        browser.save_screenshot(str(shot))
        print(f"\ndevices page with the registry stopped: {shot}")
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        assert rect(browser, banner)["top"] < 60, "the banner scrolled away"
    finally:
        system.supervisor().startProcess("oscar-registry")
    until(browser, lambda d: not d.find_element(By.ID, "banner").is_displayed(), timeout=20,
          message="the banner to go away")
    table = browser.find_element(By.ID, "devices")
    assert "stale" not in table.get_attribute("class").split()
    assert not browser.find_element(By.ID, "stale-note").is_displayed()
