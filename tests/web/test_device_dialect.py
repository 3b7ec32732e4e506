"""The device's dialect (issue 8) in the pages and the JSON API: every field with help text,
the profile select and its defaults blob, and the password that never reaches a page."""

from __future__ import annotations

import json
import re

from oscar.devices.profiles import PROFILES
from oscar.web.forms import DIALECT
from tests.web.helpers import (
    device_row,
    input_attributes,
    input_value,
    post_form,
    select_options,
    text_of,
)
from tests.web.test_transfer_page import upload

SECRET = "Sup3r-Secret-pw"
BASIC = {"name": "dia-a", "host": "127.0.0.1", "port": "9501", "enabled": "on",
         "terminator": "\\r", "encoding": "utf-8", "ttl": "10", "backoff_min": "0.5",
         "backoff_max": "10", "tags": "", "profile": "generic", "transport": "tcp",
         "connection": "persistent", "idle_close": "30", "username": "", "password": "",
         "on_connect": "", "keepalive": "", "keepalive_interval": "0", "reply_timeout": "0",
         "min_gap": "0", "reply_terminator": ""}


def blob(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="profile-defaults">(.*?)</script>',
                      html, re.S)
    assert match, "no profile defaults in the page"
    return json.loads(match.group(1))


def assert_no_secret(client, *paths):
    for path in paths:
        page = client.get(path).get_data(as_text=True)
        assert SECRET not in page, f"{path} shows the password"


def help_of(html: str, field: str) -> str:
    match = re.search(rf'id="{field}"[^>]*>.*?<p class="help">(.*?)</p>', html, re.S)
    assert match, f"no help for {field}"
    return match.group(1)


def test_add_form_has_every_dialect_field_with_help_in_its_own_section(client):
    html = client.get("/devices/new").get_data(as_text=True)
    section = re.search(r'<details class="form-section" id="dialect".*?</details>', html, re.S)
    assert section and "Dialect &amp; connection" in section.group(0)
    assert " open" not in section.group(0).split(">", 1)[0]  # a generic device: folded away
    for field in DIALECT:
        assert f'id="{field}"' in section.group(0), field
        assert len(help_of(html, field)) > 20, field
    assert 'id="profile"' not in section.group(0)  # the profile select is with the basics
    assert select_options(html, "profile") == list(PROFILES)
    assert input_value(html, "profile") == "generic"
    assert select_options(html, "transport") == ["tcp", "udp"]
    assert select_options(html, "connection") == ["persistent", "per-command", "on-demand"]
    assert input_attributes(html, "password")["type"] == "password"
    assert text_of(html, "password-state") == "(not set)"
    assert input_attributes(html, "clear_password") is None  # nothing to clear on add
    assert "device_form.js" in html


def test_profile_blob_holds_each_profiles_defaults_as_the_form_shows_them(client):
    data = blob(client.get("/devices/new").get_data(as_text=True))
    assert set(data["profiles"]) == set(PROFILES)
    pjlink = data["profiles"]["pjlink"]["defaults"]
    assert pjlink["port"] == "4352" and pjlink["connection"] == "on-demand"
    assert pjlink["wait_for_reply"] == "on"  # a checkbox, in the form's own terms
    assert data["profiles"]["watchout"]["defaults"]["on_connect"] == "authenticate 1"
    assert data["generic_defaults"]["connection"] == "persistent"
    assert "port" not in data["generic_defaults"] and "password" not in data["generic_defaults"]
    assert "wait_for_reply" in data["checkboxes"]
    assert data["profiles"]["pjlink"]["notes"]


def test_the_script_that_fills_the_defaults_is_served(client):
    script = client.get("/static/device_form.js").get_data(as_text=True)
    assert "profile-defaults" in script and "generic_defaults" in script


def test_add_with_a_profile_and_blank_port_takes_the_profiles_port(client, registry):
    response = post_form(client, "/devices/new", {
        **BASIC, "name": "dia-pj", "profile": "pjlink", "port": "", "connection": "on-demand",
        "password": SECRET, "on_connect": "%1POWR?\r\n%1INPT?\r\n"})
    assert response.status_code == 302, text_of(response.get_data(as_text=True), "form-errors")
    device = registry.call("get", name="dia-pj")
    assert device["port"] == 4352
    assert device["password_set"] is True and "password" not in device
    assert device["on_connect"] == ["%1POWR?", "%1INPT?"]
    assert_no_secret(client, "/", "/devices/dia-pj/edit", "/activity", "/system",
                     "/api/devices", "/api/devices/dia-pj", "/api/status", "/api/export",
                     "/export.json", "/transfer")


def test_edit_page_says_set_and_never_shows_the_password(client, registry):
    registry.call("add", device={"name": "dia-b", "host": "127.0.0.1", "port": 9502,
                                 "password": SECRET, "on_connect": ["a", "b\\r"],
                                 "profile": "watchout"})
    html = client.get("/devices/dia-b/edit").get_data(as_text=True)
    assert SECRET not in html
    assert input_value(html, "password") == ""
    assert text_of(html, "password-state") == "(set)"
    assert input_attributes(html, "clear_password") is not None
    assert text_of(html, "on_connect") == "a b\\r"  # one per line
    assert re.search(r'<textarea[^>]*id="on_connect"[^>]*>a\nb\\r</textarea>', html)
    assert input_value(html, "profile") == "watchout"
    assert ' open' in re.search(r'<details[^>]*id="dialect"[^>]*>', html).group(0)


def edit_form(html: str) -> dict:
    """What the browser would post back unchanged (textarea and checkboxes included)."""
    fields = dict(BASIC)
    for field in BASIC:
        value = input_value(html, field)
        if value is not None and field != "enabled":
            fields[field] = value
    fields["on_connect"] = re.search(r'id="on_connect"[^>]*>(.*?)</textarea>', html,
                                     re.S).group(1)
    return fields


def test_blank_password_keeps_it_and_clear_clears_it(client, registry):
    registry.call("add", device={"name": "dia-c", "host": "127.0.0.1", "port": 9503,
                                 "password": SECRET})
    html = client.get("/devices/dia-c/edit").get_data(as_text=True)
    fields = {**edit_form(html), "ttl": "4"}
    assert post_form(client, "/devices/dia-c/edit", fields).status_code == 302
    device = registry.call("get", name="dia-c")
    assert device["ttl"] == 4.0 and device["password_set"] is True
    # a new password replaces it (still never shown)
    assert post_form(client, "/devices/dia-c/edit",
                     {**fields, "password": "other"}).status_code == 302
    assert registry.call("get", name="dia-c")["password_set"] is True
    cleared = post_form(client, "/devices/dia-c/edit", {**fields, "clear_password": "on"})
    assert cleared.status_code == 302
    assert registry.call("get", name="dia-c")["password_set"] is False
    html = client.get("/devices/dia-c/edit").get_data(as_text=True)
    assert text_of(html, "password-state") == "(not set)"


def test_a_refused_submit_never_echoes_the_typed_password(client, registry):
    registry.call("add", device={"name": "dia-d", "host": "127.0.0.1", "port": 9504,
                                 "password": "stored"})
    response = post_form(client, "/devices/dia-d/edit",
                         {**BASIC, "name": "dia-d", "password": SECRET, "ttl": "0"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert SECRET not in html
    assert "between 0.1 and 3600" in text_of(html, "ttl-error")
    assert text_of(html, "password-state") == "(set)"  # the stored one is still there
    refused_add = post_form(client, "/devices/new",
                            {**BASIC, "name": "dia-e", "password": SECRET, "port": "x"})
    assert refused_add.status_code == 400 and SECRET not in refused_add.get_data(as_text=True)


def test_dialect_errors_are_shown_next_to_their_fields(client):
    response = post_form(client, "/devices/new", {
        **BASIC, "name": "dia-f", "profile": "nope", "transport": "serial",
        "keepalive_interval": "0.01", "on_connect": "ok\nbad\\q", "password": "a\tb"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "unknown profile 'nope'; use one of: generic" in text_of(html, "profile-error")
    assert "must be one of tcp, udp" in text_of(html, "transport-error")
    assert "0 (off) or between 0.1" in text_of(html, "keepalive_interval-error")
    assert "command 2: unknown escape \\q" in text_of(html, "on_connect-error")
    assert "control characters" in text_of(html, "password-error")
    assert ' open' in re.search(r'<details[^>]*id="dialect"[^>]*>', html).group(0)


def test_device_details_row_shows_profile_transport_and_connection(client, registry):
    registry.call("add", device={"name": "dia-g", "host": "127.0.0.1", "profile": "pjlink",
                                 "password": SECRET})
    row = device_row(client.get("/").get_data(as_text=True), "dia-g")
    dialect = re.search(r'data-field="dialect">(.*?)<', row).group(1)
    assert dialect == "pjlink · tcp on-demand (close after 25s) · password set"
    status = client.get("/api/status?name=dia-g").get_json()
    assert status["devices"][0]["cells"]["dialect"] == dialect
    assert SECRET not in json.dumps(status)


def test_json_api_takes_and_returns_the_fields_in_public_form(client):
    created = client.post("/api/devices", json={
        "name": "dia-api", "host": "127.0.0.1", "profile": "videohub", "password": SECRET,
        "on_connect": ["hello"], "min_gap": 0.2, "wait_for_reply": True})
    assert created.status_code == 201
    body = created.get_json()
    assert body["port"] == 9990 and body["keepalive"] == "PING:"
    assert body["on_connect"] == ["hello"] and body["min_gap"] == 0.2
    assert body["password_set"] is True and "password" not in body
    # a client that echoes what it read back keeps the password
    patched = client.patch("/api/devices/dia-api", json={**body, "min_gap": 0.3})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["password_set"] is True
    assert client.patch("/api/devices/dia-api", json={"password": ""}).get_json()[
        "password_set"] is False
    bad = client.patch("/api/devices/dia-api", json={"connection": "sometimes"})
    assert bad.status_code == 400
    assert "connection" in bad.get_json()["fields"]


def test_export_offers_secrets_explicitly(client, registry):
    registry.call("add", device={"name": "dia-x", "host": "127.0.0.1", "port": 9505,
                                 "password": SECRET})
    page = client.get("/transfer").get_data(as_text=True)
    assert 'id="export-secrets"' in page and "with_secrets=1" in page
    plain = client.get("/export.json")
    assert SECRET not in plain.get_data(as_text=True)
    with_secrets = client.get("/export.json?with_secrets=1")
    assert "with-passwords" in with_secrets.headers["Content-Disposition"]
    entry = next(d for d in json.loads(with_secrets.data)["devices"] if d["name"] == "dia-x")
    assert entry["password"] == SECRET
    api = client.get("/api/export?with_secrets=1").get_json()
    assert next(d for d in api["devices"] if d["name"] == "dia-x")["password"] == SECRET
    assert SECRET not in client.get("/api/export").get_data(as_text=True)


def test_checking_an_export_without_passwords_names_the_devices_that_lose_theirs(client,
                                                                                registry):
    registry.call("add", device={"name": "dia-y", "host": "127.0.0.1", "port": 9506,
                                 "password": SECRET})
    registry.call("add", device={"name": "dia-z", "host": "127.0.0.1", "port": 9507})
    exported = client.get("/export.json").data
    response = upload(client, exported, "check")
    html = response.get_data(as_text=True)
    assert "The file is valid" in text_of(html, "import-result")
    assert "dia-y" in text_of(html, "import-passwords")
    assert "dia-z" not in text_of(html, "import-passwords")  # it had no password
    with_secrets = upload(client, client.get("/export.json?with_secrets=1").data, "check")
    assert text_of(with_secrets.get_data(as_text=True), "import-passwords") is None
