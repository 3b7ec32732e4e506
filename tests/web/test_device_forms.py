"""Add, edit, delete, enable/disable and restart through the pages' forms."""

from __future__ import annotations

import pytest

from oscar.client import RegistryError
from oscar.models import ENCODINGS
from tests.web.helpers import (
    device_row,
    input_attributes,
    input_value,
    post_form,
    select_options,
    text_of,
)

GOOD = {"name": "form-a", "host": "127.0.0.1", "port": "9201", "enabled": "on",
        "terminator": "\\r\\n", "encoding": "ascii", "ttl": "5", "backoff_min": "0.2",
        "backoff_max": "4", "tags": "stage-left, proj"}


def test_add_form_starts_with_defaults(client):
    html = client.get("/devices/new").get_data(as_text=True)
    assert input_value(html, "terminator") == "\\r"
    assert input_value(html, "encoding") == "utf-8"
    assert (input_value(html, "ttl"), input_value(html, "backoff_min"),
            input_value(html, "backoff_max")) == ("10", "0.5", "10")
    assert "checked" in input_attributes(html, "enabled")
    assert input_value(html, "tags") == ""
    assert "/group/TAG/message" in html  # the tags field says what tags are for


def test_encoding_is_a_choice_of_the_supported_encodings(client):
    html = client.get("/devices/new").get_data(as_text=True)
    assert select_options(html, "encoding") == list(ENCODINGS)
    assert input_attributes(html, "encoding") is None  # a select, not free text


def test_add_form_saves_every_field(client, registry):
    response = post_form(client, "/devices/new", GOOD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    saved = registry.call("get", name="form-a")
    assert {key: saved[key] for key in ("name", "host", "port", "enabled", "terminator",
                                        "encoding", "ttl", "backoff_min", "backoff_max",
                                        "tags")} == {
        "name": "form-a", "host": "127.0.0.1", "port": 9201, "enabled": True,
        "terminator": "\\r\\n", "encoding": "ascii", "ttl": 5.0, "backoff_min": 0.2,
        "backoff_max": 4.0, "tags": ["proj", "stage-left"]}
    # a post without the dialect fields (a script's) gets the generic profile's defaults
    assert (saved["profile"], saved["transport"], saved["password_set"]) == (
        "generic", "tcp", False)
    page = client.get("/").get_data(as_text=True)
    assert "Added form-a" in page


def test_unchecked_enabled_adds_a_disabled_device(client, registry):
    fields = {**GOOD, "name": "form-off"}
    del fields["enabled"]
    post_form(client, "/devices/new", fields)
    assert registry.call("get", name="form-off")["enabled"] is False


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("port", "70000", "must be 1-65535, got 70000"),
    ("port", "ninety", "must be a whole number 1-65535"),
    ("host", "no-such-host.invalid", "is not an IP address and does not resolve"),
    ("terminator", "\\q", "\\q"),
    ("name", "bad name!", "letters, digits"),
    ("ttl", "0", "between 0.1 and 3600"),
    ("tags", "proj, stage left", "tag 'stage left': 1-64 characters"),
    ("terminator", "\u00e9", "'\u00e9' cannot be written in ascii"),
])
def test_bad_field_is_shown_next_to_it_and_typing_is_kept(client, registry, field, value,
                                                           expected):
    typed = {**GOOD, "name": "form-bad", field: value}
    response = post_form(client, "/devices/new", typed)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert expected in text_of(html, f"{field}-error")
    for name, text in typed.items():
        if name != "enabled":
            assert input_value(html, name) == text, f"{name} lost what the user typed"
    with pytest.raises(RegistryError):
        registry.call("get", name=typed["name"].strip())


def test_duplicate_name_is_an_error_on_the_name_field(client, registry):
    registry.call("add", device={"name": "form-dup", "host": "127.0.0.1", "port": 9202})
    response = post_form(client, "/devices/new", {**GOOD, "name": "form-dup", "port": "9999"})
    assert response.status_code == 400
    assert "already exists" in text_of(response.get_data(as_text=True), "name-error")
    assert registry.call("get", name="form-dup")["port"] == 9202


def test_edit_form_shows_the_device_and_saves_changes(client, registry):
    registry.call("add", device={"name": "form-edit", "host": "127.0.0.1", "port": 9203,
                                 "ttl": 3})
    html = client.get("/devices/form-edit/edit").get_data(as_text=True)
    assert input_value(html, "port") == "9203" and input_value(html, "ttl") == "3"
    assert "readonly" in input_attributes(html, "name")
    response = post_form(client, "/devices/form-edit/edit",
                         {**GOOD, "name": "ignored", "port": "9204"})
    assert response.status_code == 302
    device = registry.call("get", name="form-edit")
    assert device["port"] == 9204 and device["encoding"] == "ascii"


def test_edit_form_shows_tags_and_clearing_them_saves_none(client, registry):
    registry.call("add", device={"name": "form-tags", "host": "127.0.0.1", "port": 9210,
                                 "tags": ["b", "a"]})
    html = client.get("/devices/form-tags/edit").get_data(as_text=True)
    assert input_value(html, "tags") == "a,b"
    assert post_form(client, "/devices/form-tags/edit",
                     {**GOOD, "port": "9210", "tags": ""}).status_code == 302
    assert registry.call("get", name="form-tags")["tags"] == []


def test_encoding_and_terminator_are_checked_together(client, registry):
    typed = {**GOOD, "name": "form-enc", "encoding": "ascii", "terminator": "\u00a7"}
    response = post_form(client, "/devices/new", typed)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "cannot be written in ascii" in text_of(html, "terminator-error")
    assert input_value(html, "encoding") == "ascii"
    assert post_form(client, "/devices/new", {**typed, "encoding": "iso8859-1"}).status_code \
        == 302
    assert registry.call("get", name="form-enc")["encoding"] == "iso8859-1"


def test_invalid_edit_changes_nothing_and_keeps_typing(client, registry):
    registry.call("add", device={"name": "form-edit2", "host": "127.0.0.1", "port": 9205})
    response = post_form(client, "/devices/form-edit2/edit",
                         {**GOOD, "port": "9206", "backoff_min": "9", "backoff_max": "2"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "must be at least backoff_min" in text_of(html, "backoff_max-error")
    assert input_value(html, "port") == "9206"
    assert registry.call("get", name="form-edit2")["port"] == 9205


def test_delete_asks_first_then_deletes(client, registry):
    registry.call("add", device={"name": "form-del", "host": "127.0.0.1", "port": 9207})
    confirm = client.get("/devices/form-del/delete").get_data(as_text=True)
    assert "Delete form-del?" in confirm
    assert registry.call("get", name="form-del")  # asking changed nothing
    response = post_form(client, "/devices/form-del/delete", {}, follow=True)
    assert "Deleted form-del" in response.get_data(as_text=True)
    with pytest.raises(RegistryError) as err:
        registry.call("get", name="form-del")
    assert err.value.code == "not_found"


def test_disable_and_enable_buttons(client, registry):
    registry.call("add", device={"name": "form-tog", "host": "127.0.0.1", "port": 9208})
    post_form(client, "/devices/form-tog/disable", {})
    assert registry.call("get", name="form-tog")["enabled"] is False
    row = device_row(client.get("/").get_data(as_text=True), "form-tog")
    assert 'data-state="disabled"' in row and ">Enable</button>" in row
    post_form(client, "/devices/form-tog/enable", {})
    assert registry.call("get", name="form-tog")["enabled"] is True


def test_restart_reports_why_it_could_not(client, registry):
    registry.call("add", device={"name": "form-rs", "host": "127.0.0.1", "port": 9209,
                                 "enabled": False})
    page = post_form(client, "/devices/form-rs/restart", {}, follow=True)
    assert "form-rs: device &#39;form-rs&#39; is disabled; enable it first" in \
        page.get_data(as_text=True)
    registry.call("enable", name="form-rs")
    page = post_form(client, "/devices/form-rs/restart", {}, follow=True)
    assert page.status_code == 200
    assert "supervisord not reachable" in page.get_data(as_text=True)  # none in these tests


def test_a_form_without_its_csrf_token_is_refused(client, registry):
    response = client.post("/devices/new", data={**GOOD, "name": "form-forged"})
    assert response.status_code == 400
    assert "expired or came from another site" in response.get_data(as_text=True)
    with pytest.raises(RegistryError):
        registry.call("get", name="form-forged")


def test_unknown_device_pages_are_404_not_500(client):
    assert client.get("/devices/nobody/edit").status_code == 404
    assert client.get("/devices/nobody/delete").status_code == 404
    assert post_form(client, "/devices/nobody/send", {"text": "x"}).status_code == 404
    assert client.get("/no/such/page").status_code == 404


def test_a_stored_encoding_no_longer_supported_stays_selected_and_marked():
    from oscar.web.forms import DeviceForm

    form = DeviceForm.for_device({"name": "old", "host": "127.0.0.1", "port": 1,
                                  "encoding": "idna", "tags": []})
    options = form.choices("encoding")
    assert options[0] == ("idna", "idna (not supported: choose another)")
    assert [value for value, _ in options[1:]] == list(ENCODINGS)
    assert form.record()["encoding"] == "idna"  # saving it unchanged shows the field's error
