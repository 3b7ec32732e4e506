"""Profiles are data: every default is a valid Device field value and every login recipe exists."""

import json

import pytest

from oscar import cli, escapes
from oscar.devices import logins, profiles
from oscar.models import Device, validate
from oscar.records import fields

SHIPPED = ("generic", "pjlink", "ntcontrol", "extron-sis", "videohub", "watchout",
           "kramer-p3000", "christie", "sony-adcp", "epson-escvp")
DEVICE_FIELDS = {f.name for f in fields(Device)}


def test_the_issue_profiles_ship():
    assert tuple(profiles.PROFILES) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_defaults_name_device_fields_and_a_known_recipe(name):
    profile = profiles.get(name)
    assert profile.name == name
    assert set(profile.defaults) <= DEVICE_FIELDS
    assert set(profile.needs) <= DEVICE_FIELDS
    assert profile.login in logins.RECIPES
    assert profile.title and profile.notes


@pytest.mark.parametrize("name", SHIPPED)
def test_a_device_added_with_only_host_takes_every_profile_default(name):
    data = {"name": "dev1", "host": "127.0.0.1", "profile": name}
    if "port" not in profiles.get(name).defaults:
        data["port"] = 7000
    device = validate(data)
    for field, value in profiles.get(name).defaults.items():
        assert getattr(device, field) == value, field
    assert device.profile == name


@pytest.mark.parametrize("name", SHIPPED)
def test_escaped_defaults_decode(name):
    defaults = profiles.get(name).defaults
    for field in ("terminator", "keepalive", "reply_terminator"):
        if field in defaults:
            escapes.decode(defaults[field])
    for text in defaults.get("on_connect", ()):
        escapes.decode(text)


def test_generic_is_todays_behaviour():
    generic = profiles.get("generic")
    assert generic.login == "none"
    assert "port" not in generic.defaults  # the operator must give one
    assert "port" in generic.needs
    device = validate({"name": "d", "host": "127.0.0.1", "port": 5000})
    assert (device.profile, device.terminator, device.transport, device.connection) == (
        "generic", "\\r", "tcp", "persistent")
    assert (device.keepalive, device.on_connect, device.reply_terminator) == ("", (), "")


def test_wire_bytes_of_the_text_defaults():
    assert escapes.decode(profiles.get("videohub").defaults["terminator"]) == b"\n\n"
    assert escapes.decode(profiles.get("extron-sis").defaults["terminator"]) == b""
    assert escapes.decode(profiles.get("sony-adcp").defaults["terminator"]) == b"\r\n"
    assert profiles.get("watchout").defaults["on_connect"] == ("authenticate 1",)
    pjlink = profiles.get("pjlink").defaults
    # Re-login before the projector's ~30 s idle close.
    assert pjlink["connection"] == "on-demand" and pjlink["idle_close"] < 30


def test_unknown_profile_is_a_value_error_listing_the_known():
    with pytest.raises(ValueError) as caught:
        profiles.get("barco")
    assert "barco" in str(caught.value) and "pjlink" in str(caught.value)
    with pytest.raises(ValueError):
        profiles.get(None)  # type: ignore[arg-type]


def test_a_profile_cannot_set_a_non_field():
    with pytest.raises(ValueError):
        profiles.Profile(name="x", title="x", defaults={"passwd": "x"})


def test_defaults_cannot_be_changed_through_a_caller_dict():
    source = {"port": 1}
    profile = profiles.Profile(name="x", title="x", defaults=source)
    source["port"] = 2
    assert profile.defaults["port"] == 1


def test_oscar_profiles_lists_every_profile_without_oscar_running(capsys, monkeypatch):
    monkeypatch.setenv("OSCAR_HOME", "/nonexistent/oscar-home-for-profiles")
    assert cli.main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert name in out
    assert "4352" in out and "per-command" in out and "host, username, password" in out


def test_oscar_profiles_json_round_trips_the_defaults(capsys):
    assert cli.main(["profiles", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["name"] for item in listed] == list(SHIPPED)
    watchout = next(item for item in listed if item["name"] == "watchout")
    assert watchout["defaults"]["on_connect"] == ["authenticate 1"]
    assert watchout["login"] == "watchout"


def test_oscar_profiles_name_shows_one_and_unknown_is_not_found(capsys):
    assert cli.main(["profiles", "videohub"]) == 0
    out = capsys.readouterr().out
    assert 'terminator          "\\n\\n"' in out and "PING:" in out
    assert cli.main(["profiles", "nope"]) == 4
    assert "unknown profile" in capsys.readouterr().err


def test_docs_devices_md_has_a_section_per_profile():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "devices.md").read_text()
    for name in SHIPPED:
        assert f"\n## {name}" in text, name
        assert f"--profile {name}" in text or name == "generic", name
