"""With no registry answering, every page and API call answers quickly and says so."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from oscar import settings as settings_mod
from oscar.client import CHANGE_TIMEOUT
from oscar.web import create_app
from tests.support import free_port
from tests.web.helpers import input_value, post_form, text_of


@pytest.fixture
def client():
    home = Path(tempfile.mkdtemp(prefix="oscw-", dir="/tmp"))
    try:
        settings = settings_mod.load({"OSCAR_HOME": str(home),
                                      "OSCAR_OSC_PORT": str(free_port())})
        app = create_app(settings, registry_timeout=0.3)  # nothing listens on its control socket
        yield app.test_client()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def timed(call, limit: float = 3.0):
    started = time.monotonic()
    response = call()
    assert time.monotonic() - started < limit, "a request hung on the missing registry"
    return response


@pytest.mark.parametrize("path", ["/", "/activity", "/system"])
def test_pages_show_the_banner(client, path):
    response = timed(lambda: client.get(path))
    assert response.status_code == 200
    banner = text_of(response.get_data(as_text=True), "banner")
    assert "Registry not reachable." in banner and "not answering" in banner
    assert '<div id="banner" class="banner" role="alert" hidden>' not in \
        response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/devices/x/edit", "/export.json"])
def test_pages_that_need_data_answer_503_with_the_banner(client, path):
    response = timed(lambda: client.get(path))
    assert response.status_code == 503
    assert "Registry not reachable." in text_of(response.get_data(as_text=True), "banner")


def test_a_submitted_form_keeps_what_was_typed(client):
    # A change gets one try with a longer timeout (it must never be applied twice).
    response = timed(lambda: post_form(client, "/devices/new", {
        "name": "later", "host": "10.0.0.5", "port": "4352", "ttl": "10", "enabled": "on"}),
        limit=CHANGE_TIMEOUT + 2)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "not answering" in text_of(html, "banner")
    assert (input_value(html, "name"), input_value(html, "host"), input_value(html, "port")) \
        == ("later", "10.0.0.5", "4352")


def test_api_answers_503_and_health_says_unreachable(client):
    response = timed(lambda: client.get("/api/status"))
    assert response.status_code == 503
    assert response.get_json()["code"] == "registry_unavailable"
    health = timed(lambda: client.get("/api/health"))
    assert health.status_code == 200 and health.get_json()["registry"]["reachable"] is False
    system = timed(lambda: client.get("/api/system")).get_json()
    assert system["registry"]["reachable"] is False and system["web"]["pid"]
