"""The device record's dialect fields (issue 8, contract A): validation, profile resolution,
round trips and the secret password."""

import json
import logging

import msgpack
import pytest
from hypothesis import strategies as st

from oscar import messages
from oscar.devices.profiles import PROFILES
from oscar.models import (
    DEFAULTS,
    ENCODED_FIELDS,
    Device,
    ValidationError,
    from_dict,
    validate,
)
from tests.unit.fuzzing import fuzz_pair

REQUIRED = {"name": "proj1", "host": "127.0.0.1", "port": 9999}
SECRET = "s3cret-Pa55"


def errors_for(data, base=None):
    with pytest.raises(ValidationError) as caught:
        validate(data, base)
    return caught.value.errors


def test_a_device_without_dialect_fields_behaves_as_before():
    device = validate(REQUIRED)
    assert (device.profile, device.transport, device.connection) == (
        "generic", "tcp", "persistent")
    assert (device.username, device.password, device.on_connect, device.keepalive) == (
        "", "", (), "")
    assert (device.keepalive_interval, device.reply_timeout, device.min_gap) == (0.0, 0.0, 0.0)
    assert device.idle_close == 30.0
    assert device.wait_for_reply is False
    assert device.reply_terminator == ""
    assert device.terminator == "\\r"


def test_every_dialect_field_is_accepted_and_normalised():
    device = validate({
        **REQUIRED, "transport": " UDP ", "connection": "On-Demand", "idle_close": "12.5",
        "username": " admin1 ", "password": " pass word ", "on_connect": ["authenticate 1"],
        "keepalive": "PING:\\n", "keepalive_interval": "15", "reply_timeout": 3,
        "min_gap": "0.2", "wait_for_reply": "yes", "reply_terminator": "\\r\\n",
    })
    assert device.transport == "udp"
    assert device.connection == "on-demand"
    assert device.idle_close == 12.5
    assert device.username == "admin1"  # surrounding blanks are typing accidents
    assert device.password == " pass word "  # a password is taken exactly as given
    assert device.on_connect == ("authenticate 1",)
    assert device.keepalive == "PING:\\n"
    assert (device.keepalive_interval, device.reply_timeout, device.min_gap) == (15.0, 3.0, 0.2)
    assert device.wait_for_reply is True
    assert device.reply_terminator == "\\r\\n"


@pytest.mark.parametrize(
    "field, given, message",
    [
        ("transport", "serial", "must be one of tcp, udp; got 'serial'"),
        ("connection", "sometimes", "must be one of persistent, per-command, on-demand"),
        ("connection", "per_command", "must be one of persistent, per-command, on-demand"),
        ("idle_close", 0, "must be between 0.1 and 86400 seconds, got 0"),
        ("idle_close", "86401", "must be between 0.1 and 86400 seconds"),
        ("idle_close", "later", "must be a number of seconds, got 'later'"),
        ("keepalive_interval", 0.05, "must be 0 (off) or between 0.1 and 86400 seconds"),
        ("keepalive_interval", -1, "must be 0 (off) or between"),
        ("reply_timeout", 3601, "must be 0 (off) or between 0.05 and 3600 seconds"),
        ("reply_timeout", "nan", "must be 0 (off) or between"),
        ("min_gap", 61, "must be 0 (off) or between 0.001 and 60 seconds"),
        ("min_gap", True, "must be a number of seconds"),
        ("wait_for_reply", "maybe", "must be true or false, got 'maybe'"),
        ("username", "a\nb", "must not contain control characters"),
        ("username", "x" * 257, "at most 256 characters, got 257"),
        ("username", ["admin"], "must be text, got list"),
        ("password", "x" * 257, "at most 256 characters, got 257"),
        ("password", "pa\tss", "must not contain control characters"),
        ("keepalive", "PING\\q", "unknown escape \\q"),
        ("keepalive", "x" * 1025, "at most 1024 characters, got 1025"),
        ("keepalive", 5, "must be text, got int"),
        ("reply_terminator", "\\x1", "\\x needs two hex digits"),
        ("reply_terminator", "x" * 65, "at most 64 characters"),
        ("on_connect", ["ok", "bad\\z"], "command 2: unknown escape \\z"),
        ("on_connect", ["two\nlines"], "holds a line break: write it as the escape"),
        ("on_connect", [1], "command 1 is not text"),
        ("on_connect", 7, "must be a list of commands or text with one command per line"),
        ("on_connect", [f"c{i}" for i in range(33)], "at most 32 commands, got 33"),
        ("on_connect", ["x" * 1025], "command 1: at most 1024 characters"),
        ("profile", "barco", "unknown profile 'barco'; use one of: generic, pjlink"),
    ],
)
def test_refused_values_name_the_field(field, given, message):
    errors = errors_for({**REQUIRED, field: given})
    assert list(errors) == [field]
    assert message in errors[field]


def test_unknown_profile_lists_every_profile():
    message = errors_for({**REQUIRED, "profile": "nope"})["profile"]
    assert all(name in message for name in PROFILES)


def test_on_connect_as_text_is_one_command_per_line():
    device = validate({**REQUIRED, "on_connect": "authenticate 1\r\n\r\n  \n\\x1B3CV\n"})
    assert device.on_connect == ("authenticate 1", "\\x1B3CV")
    assert validate({**REQUIRED, "on_connect": ""}).on_connect == ()
    assert validate({**REQUIRED, "on_connect": ["a", "", "b"]}).on_connect == ("a", "b")


def test_texts_sent_to_the_device_must_encode_in_its_encoding():
    assert {"on_connect", "keepalive", "reply_terminator", "terminator"} <= set(ENCODED_FIELDS)
    errors = errors_for({**REQUIRED, "encoding": "ascii", "on_connect": ["ok", "café"],
                         "keepalive": "€", "reply_terminator": "é"})
    assert set(errors) == {"on_connect", "keepalive", "reply_terminator"}
    assert "cannot be written in ascii" in errors["on_connect"]
    # the same bytes as escapes are fine
    assert validate({**REQUIRED, "encoding": "ascii",
                     "on_connect": ["caf\\xE9"]}).on_connect == ("caf\\xE9",)


def test_password_never_appears_in_repr_str_or_messages(caplog):
    device = validate({**REQUIRED, "password": SECRET})
    assert device.password == SECRET
    assert SECRET not in repr(device)
    assert SECRET not in str(device)
    logging.getLogger("test").warning("device added: %s", device)
    assert SECRET not in caplog.text
    bad = SECRET + "\n"
    errors = errors_for({**REQUIRED, "password": bad})
    assert SECRET not in errors["password"]
    long_secret = SECRET * 30
    assert SECRET not in errors_for({**REQUIRED, "password": long_secret})["password"]


def test_public_dict_replaces_the_password_with_password_set():
    device = validate({**REQUIRED, "password": SECRET})
    public = device.public_dict()
    assert "password" not in public
    assert public["password_set"] is True
    assert SECRET not in json.dumps(public)
    assert validate(REQUIRED).public_dict()["password_set"] is False
    assert set(public) - {"password_set"} == set(device.to_dict()) - {"password"}
    assert device.to_dict()["password"] == SECRET  # the private wire keeps it


def test_a_public_dict_fed_back_keeps_the_password_on_edit():
    """A client that echoes what it read (with password_set) does not wipe the password."""
    device = validate({**REQUIRED, "password": SECRET})
    echoed = {**device.public_dict(), "port": 1234}
    edited = validate(echoed, base=device)
    assert edited.password == SECRET
    assert edited.port == 1234
    # and a fresh add from a public dict has no password
    assert validate(device.public_dict()).password == ""


def full_device():
    return validate({**REQUIRED, "profile": "watchout", "transport": "udp",
                     "connection": "per-command", "username": "u", "password": SECRET,
                     "on_connect": ["authenticate 1", "\\x1B3CV"], "keepalive": "Q",
                     "keepalive_interval": 240, "reply_timeout": 2.5, "min_gap": 0.05,
                     "wait_for_reply": True, "reply_terminator": ")"})


def test_round_trip_through_msgpack_json_and_the_wire():
    device = full_device()
    assert from_dict(msgpack.unpackb(msgpack.packb(device.to_dict()))) == device
    assert from_dict(json.loads(json.dumps(device.to_dict()))) == device
    assert isinstance(from_dict(json.loads(json.dumps(device.to_dict()))).on_connect, tuple)
    frames = messages.ConfigSnapshot(devices=[device.to_dict()], revision=3).encode()
    decoded = messages.decode(frames)
    assert [from_dict(d) for d in decoded.devices] == [device]
    frames = messages.DeviceConfig(name="proj1", device=device.to_dict(), revision=4).encode()
    assert from_dict(messages.decode(frames).device) == device


def test_wire_refuses_a_record_with_a_wrongly_typed_dialect_field():
    record = full_device().to_dict()
    record["on_connect"] = "authenticate 1"  # a string, not a list
    frames = messages.ConfigSnapshot(devices=[record], revision=3).encode()
    with pytest.raises(messages.DecodeError):
        messages.decode(frames)


# ---- profiles ---------------------------------------------------------------------------------

def test_add_with_a_profile_takes_its_defaults_and_its_port():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "pjlink"})
    pjlink = PROFILES["pjlink"].defaults
    assert device.port == pjlink["port"] == 4352
    assert device.connection == pjlink["connection"]
    assert device.idle_close == pjlink["idle_close"]
    assert device.wait_for_reply is pjlink["wait_for_reply"]
    assert device.keepalive == DEFAULTS["keepalive"]  # not set by the profile: generic default


def test_a_field_given_with_the_profile_wins():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "pjlink", "port": 14352,
                       "connection": "persistent"})
    assert (device.port, device.connection) == (14352, "persistent")
    assert device.idle_close == PROFILES["pjlink"].defaults["idle_close"]


def test_blank_port_from_a_form_takes_the_profiles_port():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "christie", "port": " "})
    assert device.port == 3002


def test_port_is_required_when_the_profile_has_none():
    assert errors_for({"name": "p", "host": "127.0.0.1"}) == {"port": "required"}
    assert errors_for({"name": "p", "host": "127.0.0.1", "profile": "generic", "port": ""}) \
        == {"port": "required"}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_shipped_profile_makes_a_valid_device(name):
    data = {"name": "p", "host": "127.0.0.1", "profile": name}
    if "port" not in PROFILES[name].defaults:
        data["port"] = 5000
    device = validate(data)
    assert device.profile == name
    for field, value in PROFILES[name].defaults.items():
        got = getattr(device, field)
        assert got == (tuple(value) if isinstance(value, list) else value), field


def test_profile_change_on_edit_moves_untouched_defaults_to_the_new_profile():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "pjlink",
                       "reply_timeout": 7})  # the operator's own value
    edited = validate({"profile": "watchout"}, base=device)
    watchout = PROFILES["watchout"].defaults
    assert edited.profile == "watchout"
    assert edited.port == watchout["port"]  # was pjlink's default
    assert edited.on_connect == tuple(watchout["on_connect"])
    assert edited.connection == "persistent"  # pjlink's on-demand was a default: generic now
    assert edited.wait_for_reply is False
    assert edited.reply_timeout == 7.0  # the operator's value stays


def test_profile_change_with_fields_given_in_the_same_edit():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "pjlink"})
    edited = validate({"profile": "ntcontrol", "port": 2024, "username": "admin1"}, base=device)
    assert (edited.port, edited.username) == (2024, "admin1")
    assert edited.connection == PROFILES["ntcontrol"].defaults["connection"]


def test_operator_changed_fields_survive_a_profile_change():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "pjlink"})
    device = validate({"port": 5555, "terminator": "\\n"}, base=device)
    edited = validate({"profile": "epson-escvp"}, base=device)
    assert (edited.port, edited.terminator) == (5555, "\\n")
    assert edited.reply_terminator == PROFILES["epson-escvp"].defaults["reply_terminator"]


def test_back_to_generic_keeps_the_port_and_clears_profile_only_settings():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "videohub"})
    edited = validate({"profile": "generic"}, base=device)
    assert edited.port == 9990  # generic has no port to go back to
    assert (edited.keepalive, edited.keepalive_interval, edited.reply_terminator) == ("", 0.0, "")
    assert edited.terminator == "\\r"


def test_an_edit_without_a_profile_change_fills_nothing_in():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "pjlink"})
    cleared = validate({"connection": "persistent", "wait_for_reply": False}, base=device)
    assert (cleared.connection, cleared.wait_for_reply) == ("persistent", False)
    again = validate({"profile": "pjlink", "port": 4353}, base=cleared)
    assert (again.connection, again.wait_for_reply) == ("persistent", False)


def test_unknown_profile_on_edit_is_refused_and_fills_nothing_in():
    device = validate({"name": "p", "host": "127.0.0.1", "profile": "pjlink"})
    errors = errors_for({"profile": "nope"}, base=device)
    assert list(errors) == ["profile"]


# ---- hostile input ----------------------------------------------------------------------------

_values = st.one_of(
    st.text(max_size=30), st.text(alphabet="abc\\xr0n\n\r €é", max_size=20),
    st.lists(st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=40),
    st.integers(), st.floats(), st.none(), st.booleans(),
    st.sampled_from(list(PROFILES) + ["tcp", "udp", "on-demand", "per-command", "", "0"]),
)
_FIELDS = ["profile", "transport", "connection", "idle_close", "username", "password",
           "on_connect", "keepalive", "keepalive_interval", "reply_timeout", "min_gap",
           "wait_for_reply", "reply_terminator", "encoding", "port"]


@fuzz_pair(st.dictionaries(st.sampled_from(_FIELDS), _values),
           st.sampled_from([None, "pjlink", "generic", "watchout"]))
def fuzz_validate_dialect(changes, base_profile):
    """Any input is a Device that round-trips, or a ValidationError naming fields: nothing
    else; never the password in a message."""
    base = None
    if base_profile:
        base = validate({**REQUIRED, "profile": base_profile, "password": SECRET})
    try:
        device = validate(changes if base else {**REQUIRED, **changes}, base=base)
    except ValidationError as exc:
        assert exc.errors and all(isinstance(m, str) and m for m in exc.errors.values())
        assert SECRET not in str(exc)
        return
    assert device.transport in ("tcp", "udp")
    assert isinstance(device.on_connect, tuple)
    assert SECRET not in repr(device)
    for text in device.on_connect + (device.keepalive, device.reply_terminator):
        device.payload_bytes(text)
    assert from_dict(msgpack.unpackb(msgpack.packb(device.to_dict()))) == device


test_fuzz_validate_dialect, test_fuzz_validate_dialect_long = fuzz_validate_dialect


def test_device_equality_includes_the_password():
    """The actor notices a password change: two records differing only there are not equal."""
    a = validate({**REQUIRED, "password": "a"})
    assert a != validate({**REQUIRED, "password": "b"})
    assert a == Device(**a.to_dict())
