"""Real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) against a
whole Oscar under supervisord.

One Oscar and one browser per test module keep the run short; tests use their own devices.
Every Chromium process is found by its private profile folder and checked gone afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support import OscarSystem, module_oscar, pid_alive, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the background-networking switches Chromium reaches for Google services and this
# machine's closed network refuses its connections.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1600,1000"]


def web_url(system: OscarSystem, path: str = "/") -> str:
    return f"http://127.0.0.1:{system.web_port}{path}"


def web_answers(system: OscarSystem) -> bool:
    with urllib.request.urlopen(web_url(system, "/api/health"), timeout=2) as response:
        return response.status == 200


@pytest.fixture(scope="module")
def system(request):
    # Its OSCAR_HOME (logs!) is kept only when a test of this module failed.
    with module_oscar(request) as oscar:
        wait_for(lambda: web_answers(oscar), timeout=20, message="oscar-web to answer")
        oscar.pid_of("oscar-web")
        yield oscar


def _processes_using(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def browser(system, tmp_path_factory):
    profile = tempfile.mkdtemp(prefix="oscar-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]:
        options.add_argument(arg)
    service = Service(CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
        # The operator's view at the end of the run, for a human to look at.
        driver.get(web_url(system))
        shot = tmp_path_factory.mktemp("screenshots") / "devices.png"
        driver.save_screenshot(str(shot))
        print(f"\ndevices page screenshot: {shot}")
    finally:
        chromedriver_pid = service.process.pid
        driver.quit()
        try:
            wait_for(lambda: not _processes_using(profile) and not pid_alive(chromedriver_pid),
                     timeout=15, message="Chromium and chromedriver to exit")
        finally:
            for pid in _processes_using(profile):  # only if one outlived the wait
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(profile, ignore_errors=True)
