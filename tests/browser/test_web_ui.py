"""The operator's workflow in a real browser against the whole system under supervisord."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import web_url
from tests.support import REPO, FakeDevice, osc_message, wait_for

pytestmark = pytest.mark.browser
PASSWORD = "house-lights-up"


@pytest.fixture(scope="module")
def projector():
    fake = FakeDevice().start()
    yield fake
    fake.stop()


def until(driver, condition, timeout: float = 20, message: str = "condition"):
    """Wait for condition(driver), riding out page reloads (stale or missing elements) and
    clicks that land while the page moves; a timeout says what the page showed."""
    wait = WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException,
                                             StaleElementReferenceException,
                                             ElementClickInterceptedException))
    try:
        return wait.until(condition)
    except TimeoutException:
        try:
            shown = driver.find_element(By.TAG_NAME, "body").text[:1500]
        except WebDriverException as exc:
            shown = f"(page unreadable: {exc.msg})"
        raise AssertionError(f"timed out after {timeout}s waiting for {message}; "
                             f"{driver.current_url} showed:\n{shown}") from None


def click(driver, find, what: str) -> None:
    """Click the element find(driver) returns, finding it again if the page changed under it."""
    until(driver, lambda d: find(d).click() or True, message=f"to click {what}")


def click_in_row(driver, name: str, selector: str) -> None:
    """Click a control of the device, opening its details first if the control is in them."""
    def find(d):
        element = row(d, name).find_element(By.CSS_SELECTOR, selector)
        if not element.is_displayed():
            expand(d, name)
        return element
    click(driver, find, f"{selector} of {name}")


def expand(driver, name: str) -> None:
    """Open the device's details row with its ▸ toggle (as an operator would)."""
    toggle = row(driver, name).find_element(By.CSS_SELECTOR, "button.expand")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def wait_state(driver, name: str, wanted, timeout: float = 20) -> None:
    """Wait until the row's state text equals ``wanted`` (or satisfies it, if callable)."""
    check = wanted if callable(wanted) else (lambda text: text == wanted)
    until(driver, lambda d: check(cell(d, name, "state")), timeout,
          message=f"{name} to show {getattr(wanted, '__name__', wanted)}")


def row(driver, name: str):
    """The device's rows: its one-line row and its details row share one <tbody>."""
    return driver.find_element(By.CSS_SELECTOR, f'tbody[data-device="{name}"]')


def cell(driver, name: str, field: str) -> str:
    """The text the operator sees in a field, opening the details if the field is in them."""
    element = row(driver, name).find_element(By.CSS_SELECTOR, f'[data-field="{field}"]')
    if not element.is_displayed() and field != "heartbeat":
        expand(driver, name)
    return element.text


def flash(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".flash").text


def waiting_to_retry(text: str) -> bool:
    return text == "down"


def fill(driver, fields: dict[str, str]) -> None:
    for field, value in fields.items():
        box = driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)


# `projector` before `browser`: the fake device then outlives the browser, so the screenshot
# taken when the browser closes shows proj1 ready.
def test_add_device_through_the_form_then_it_connects(system, projector, browser):
    browser.get(web_url(system))
    click(browser, lambda d: d.find_element(By.ID, "add-device"), "Add device")
    fill(browser, {"name": "proj1", "host": "127.0.0.1", "port": str(projector.port),
                   "backoff_max": "1"})
    browser.find_element(By.ID, "save").click()
    until(browser, lambda d: "Added proj1" in flash(d), message="the added message")
    wait_state(browser, "proj1", "ready")
    assert cell(browser, "proj1", "address") == f"127.0.0.1:{projector.port}"
    assert projector.connections >= 1


def test_test_command_box_reaches_the_device(system, browser, projector):
    browser.get(web_url(system))
    box = row(browser, "proj1").find_element(By.NAME, "text")
    box.send_keys("%1POWR 1")
    click_in_row(browser, "proj1", ".send button")
    wait_for(lambda: projector.received.endswith(b"%1POWR 1\r"), timeout=10,
             message="the test command at the fake device")
    until(browser, lambda d: cell(d, "proj1", "last_command") == "%1POWR 1",
          message="the row to show the last command")
    assert cell(browser, "proj1", "sent") == "1"


def test_stopped_device_turns_the_row_to_retrying_without_a_reload(system, browser, projector):
    browser.get(web_url(system))
    wait_state(browser, "proj1", "ready")
    browser.execute_script("window.sameDocument = true;")
    projector.stop()
    wait_state(browser, "proj1", waiting_to_retry, timeout=10)
    assert browser.execute_script("return window.sameDocument") is True, "the page reloaded"
    assert cell(browser, "proj1", "last_error")
    projector.start()  # same port: the actor's next retry gets through
    wait_state(browser, "proj1", "ready")


def test_bad_port_shows_an_error_next_to_the_field(system, browser):
    browser.get(web_url(system, "/devices/new"))
    fill(browser, {"name": "proj-bad", "host": "10.1.2.3", "port": "70000"})
    browser.find_element(By.ID, "save").click()
    error = until(browser, lambda d: d.find_element(By.ID, "port-error"),
                  message="the port error")
    assert "must be 1-65535, got 70000" in error.text
    port = browser.find_element(By.ID, "port")
    assert port.get_attribute("aria-describedby") == "port-error"
    assert port.get_attribute("value") == "70000"
    assert browser.find_element(By.ID, "name").get_attribute("value") == "proj-bad"
    assert browser.find_element(By.ID, "host").get_attribute("value") == "10.1.2.3"
    assert "proj-bad" not in [d["name"] for d in system.call("list")]


def test_device_text_is_shown_as_text_not_run(system, browser):
    hostile = b'<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    with FakeDevice(reply=hostile + b"\r") as fake:
        system.add_device("shady", fake.port)
        system.wait_state("shady", "ready")
        system.send_udp(osc_message("/device/shady/message", "?"))
        browser.get(web_url(system))
        until(browser, lambda d: cell(d, "shady", "last_reply") == hostile.decode(),
              message="the reply shown as text")
        assert browser.execute_script("return window.pwned === undefined")
        system.call("remove", name="shady")


def test_restart_disable_enable_buttons(system, browser):
    old_pid = system.pid_of("oscar-device-proj1")
    browser.get(web_url(system))
    click_in_row(browser, "proj1", "button.restart")
    until(browser, lambda d: "Restarted the actor of proj1" in flash(d),
          message="the restarted message")
    wait_for(lambda: system.pid_of("oscar-device-proj1") not in (0, old_pid), timeout=10,
             message="a new actor process")
    wait_state(browser, "proj1", "ready")

    click_in_row(browser, "proj1", "button.toggle")
    wait_state(browser, "proj1", "disabled")
    wait_for(lambda: system.program_state("oscar-device-proj1") == "ABSENT", timeout=15,
             message="the actor program removed")
    click_in_row(browser, "proj1", "button.toggle")
    wait_state(browser, "proj1", "ready", timeout=30)  # a new program starts


def activity_rows(driver) -> list[dict]:
    """The activity table read in one go (the page replaces its rows as events arrive)."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll("#activity tbody tr[data-event]")).map(
            tr => ({event: tr.dataset.event,
                    cells: Array.from(tr.cells).map(td => td.textContent.trim())}));""")


def test_activity_page_filters_by_device(system, browser):
    system.add_device("other", 9)  # nothing listens on port 9: its events are errors
    wait_for(lambda: system.call("activity", device="other"), message="events from other")
    browser.get(web_url(system, "/activity?device=proj1"))
    rows = until(browser, activity_rows, message="activity rows")
    assert {r["cells"][1] for r in rows} == {"proj1"}
    events = {r["event"] for r in rows}
    assert "sent" in events and "state" in events
    assert "%1POWR 1" in [r["cells"][3] for r in rows]
    system.call("remove", name="other")


def test_system_page_lists_the_processes(system, browser):
    browser.get(web_url(system, "/system"))
    states = {r.get_attribute("data-program"): r.get_attribute("data-state")
              for r in browser.find_elements(By.CSS_SELECTOR, "#processes tbody tr")}
    for program in ("oscar-registry", "oscar-listener", "oscar-web", "oscar-device-proj1"):
        assert states.get(program) == "RUNNING", states
    assert browser.find_element(By.ID, "registry-reachable").text.startswith("yes")


def test_registry_down_shows_a_banner_and_cues_still_flow(system, browser, projector):
    browser.get(web_url(system))
    banner = browser.find_element(By.ID, "banner")
    assert not banner.is_displayed()
    assert system.ctl("stop", "oscar-registry").returncode == 0
    try:
        until(browser, lambda d: d.find_element(By.ID, "banner").is_displayed(), timeout=10,
              message="the registry banner")
        assert "Registry not reachable" in browser.find_element(By.ID, "banner").text
        system.send_udp(osc_message("/device/proj1/message", "while registry down"))
        wait_for(lambda: projector.received.endswith(b"while registry down\r"), timeout=10,
                 message="a cue to get through while the registry is down")
    finally:
        assert system.ctl("start", "oscar-registry").returncode == 0
    until(browser, lambda d: not d.find_element(By.ID, "banner").is_displayed(), timeout=15,
          message="the banner to go away")
    wait_state(browser, "proj1", "ready")


def test_delete_asks_for_confirmation(system, browser):
    system.add_device("spare", 9)
    browser.get(web_url(system))
    click_in_row(browser, "spare", "a.delete")
    assert "Delete spare?" in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.ID, "confirm-delete").click()
    until(browser, lambda d: "Deleted spare" in flash(d), message="the deleted message")
    assert not browser.find_elements(By.CSS_SELECTOR, 'tbody[data-device="spare"]')
    wait_for(lambda: system.program_state("oscar-device-spare") == "ABSENT", timeout=15,
             message="the spare actor removed")


def test_edit_tags_and_encoding_then_a_frozen_actor_shows_stale_in_red(system, browser):
    browser.get(web_url(system, "/devices/proj1/edit"))
    fill(browser, {"tags": "stage-left, proj"})
    Select(browser.find_element(By.ID, "encoding")).select_by_value("iso8859-1")
    browser.find_element(By.ID, "save").click()
    until(browser, lambda d: cell(d, "proj1", "tags") == "proj, stage-left",
          message="the tags next to the name")
    device = system.call("get", name="proj1")
    assert (device["tags"], device["encoding"]) == (["proj", "stage-left"], "iso8859-1")
    wait_state(browser, "proj1", "ready")

    pid = system.pid_of("oscar-device-proj1")
    os.kill(pid, signal.SIGSTOP)  # its loop stops turning while supervisord says RUNNING
    try:
        until(browser, lambda d: cell(d, "proj1", "heartbeat").startswith("stale "),
              message="the stale heartbeat")
        shown = row(browser, "proj1").find_element(By.CSS_SELECTOR, '[data-field="heartbeat"]')
        assert shown.value_of_css_property("color") == "rgba(255, 107, 107, 1)"  # --bad
    finally:
        os.kill(pid, signal.SIGCONT)
    # back to normal: the one-line row shows the heartbeat only while it is stale
    until(browser, lambda d: row(d, "proj1").get_attribute("data-stale") == "no",
          message="the heartbeat back to normal")
    shown = row(browser, "proj1").find_element(By.CSS_SELECTOR, '[data-field="heartbeat"]')
    assert not shown.is_displayed()
    assert shown.get_attribute("textContent").startswith("heartbeat ")


def oscar_web(system, *args: str, stdin: str = "") -> None:
    result = subprocess.run([sys.executable, "-m", "oscar.cli", "web", *args], input=stdin,
                            env=system.env, cwd=REPO, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr


def test_login_is_required_once_a_password_is_set(system, browser):
    oscar_web(system, "set-password", "--stdin", stdin=PASSWORD + "\n")
    try:
        browser.get(web_url(system, "/system"))
        until(browser, lambda d: "/login" in d.current_url, message="the login page")
        fill(browser, {"password": "wrong-password"})
        browser.find_element(By.ID, "login").click()
        error = until(browser, lambda d: d.find_element(By.ID, "password-error"),
                      message="the wrong-password error")
        assert error.text == "Wrong password."
        fill(browser, {"password": PASSWORD})
        browser.find_element(By.ID, "login").click()
        until(browser, lambda d: d.current_url.endswith("/system"), message="back to System")
        browser.get(web_url(system))
        wait_state(browser, "proj1", "ready")
    finally:
        oscar_web(system, "clear-password")
