import json

import msgpack
import pytest
from hypothesis import strategies as st

from oscar.models import (
    DEFAULTS,
    ENCODINGS,
    NAME_RE,
    Device,
    ValidationError,
    from_dict,
    validate,
)
from tests.unit.fuzzing import fuzz_pair

REQUIRED = {"name": "proj1", "host": "127.0.0.1", "port": 9999}


def errors_for(data, base=None):
    with pytest.raises(ValidationError) as caught:
        validate(data, base)
    return caught.value.errors


def test_defaults_fill_every_optional_field():
    assert validate(REQUIRED) == Device(
        name="proj1", host="127.0.0.1", port=9999, enabled=True, terminator="\\r",
        encoding="utf-8", ttl=10.0, backoff_min=0.5, backoff_max=10.0, tags=(),
    )
    assert set(DEFAULTS) == {"enabled", "terminator", "encoding", "ttl", "backoff_min",
                             "backoff_max", "tags",
                             # issue 8 (tests/unit/test_models_dialect.py)
                             "profile", "transport", "connection", "idle_close", "username",
                             "password", "on_connect", "keepalive", "keepalive_interval",
                             "reply_timeout", "min_gap", "wait_for_reply", "reply_terminator"}


def test_missing_required_fields_are_each_named():
    assert errors_for({}) == {"name": "required", "host": "required", "port": "required"}


def test_every_problem_is_reported_at_once():
    errors = errors_for({"name": "my proj", "host": "", "port": "x", "ttl": 0, "colour": "red"})
    assert set(errors) == {"name", "host", "port", "ttl", "colour"}
    assert errors["colour"] == "unknown field"


def test_validation_error_message_names_each_field():
    with pytest.raises(ValidationError, match=r"port: must be 1-65535, got 0"):
        validate({**REQUIRED, "port": 0})


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("name", "a", "a"),
        ("name", "Proj_1.left-2", "Proj_1.left-2"),
        ("name", "x" * 64, "x" * 64),
        ("name", " proj1 ", "proj1"),
        ("host", "192.168.1.50", "192.168.1.50"),
        ("host", "::1", "::1"),
        ("host", "localhost", "localhost"),
        ("host", " 10.0.0.7 ", "10.0.0.7"),
        ("port", 1, 1),
        ("port", "65535", 65535),
        ("port", " 4352 ", 4352),
        ("enabled", False, False),
        ("enabled", "yes", True),
        ("enabled", "On", True),
        ("enabled", "1", True),
        ("enabled", "false", False),
        ("enabled", "off", False),
        ("enabled", "0", False),
        ("terminator", "\\r\\n", "\\r\\n"),
        ("terminator", "", ""),
        ("terminator", "\\x03", "\\x03"),
        ("encoding", "latin-1", "iso8859-1"),
        ("encoding", "UTF8", "utf-8"),
        ("encoding", "ascii", "ascii"),
        ("encoding", "utf-16-le", "utf-16-le"),
        ("encoding", "ISO-8859-1", "iso8859-1"),
        ("encoding", "Shift-JIS", "shift_jis"),
        ("encoding", "windows-1252", "cp1252"),
        ("tags", "proj,stage-left", ("proj", "stage-left")),
        ("tags", " stage-left , proj ,", ("proj", "stage-left")),
        ("tags", ["b", "a", "b"], ("a", "b")),
        ("tags", ("x",), ("x",)),
        ("tags", "", ()),
        ("tags", [], ()),
        ("tags", ["Proj_1.left-2"], ("Proj_1.left-2",)),
        ("ttl", "0.1", 0.1),
        ("ttl", 3600, 3600.0),
        ("backoff_min", "0.05", 0.05),
        ("backoff_max", 3600, 3600.0),
    ],
)
def test_accepted_values(field, given, stored):
    assert getattr(validate({**REQUIRED, field: given}), field) == stored


@pytest.mark.parametrize(
    ("field", "given", "message"),
    [
        ("name", "", "1-64 characters: letters, digits, '_', '.' or '-'"),
        ("name", "x" * 65, "1-64 characters"),
        ("name", "my proj", "1-64 characters"),
        ("name", "proj/1", "1-64 characters"),
        ("name", "proj:1", "1-64 characters"),
        ("name", "caf\u00e9", "1-64 characters"),
        ("host", "", "required: an IP address or host name"),
        ("host", "no-such-host.invalid", "'no-such-host.invalid' is not an IP address and does"),
        ("host", "999.1.1.1", "does not resolve"),
        ("port", 0, "must be 1-65535, got 0"),
        ("port", 65536, "must be 1-65535, got 65536"),
        ("port", -1, "must be 1-65535"),
        ("port", "eighty", "must be a whole number 1-65535, got 'eighty'"),
        ("port", "80.5", "must be a whole number"),
        ("port", "", "required"),  # blank = not given: the profile's port, or required
        ("enabled", "maybe", "must be true or false, got 'maybe'"),
        ("terminator", "\\q", "unknown escape \\q"),
        ("terminator", "\\", "lone backslash"),
        ("terminator", "\\x0", "\\x needs two hex digits"),
        ("encoding", "klingon", "unknown text encoding 'klingon'"),
        ("encoding", "hex", "'hex' is not one of the text encodings"),  # bytes-to-bytes
        ("encoding", "rot13", "'rot-13' is not one of the text encodings"),
        ("encoding", "idna", "'idna' is not one of the text encodings Oscar supports: utf-8"),
        ("encoding", "punycode", "is not one of the text encodings"),
        ("encoding", "utf-7", "is not one of the text encodings"),  # stateful
        ("encoding", "iso2022_jp", "is not one of the text encodings"),  # stateful
        ("encoding", "base64", "is not one of the text encodings"),
        ("encoding", "utf-32", "byte-order mark"),
        ("encoding", "x" * 500, "unknown text encoding 'xxxxxxx"),
        ("tags", "proj,stage left", "tag 'stage left': 1-64 characters"),
        ("tags", ["ok", "a/b"], "tag 'a/b': 1-64 characters"),
        ("tags", "..", "tag '..': '.' and '..' are path names"),
        ("tags", "proj*", "tag 'proj*'"),  # pattern characters would make /group/TAG ambiguous
        ("tags", ["x" * 65], "1-64 characters"),
        ("tags", [1], "tag 1 is not text"),
        ("tags", 5, "must be a list of tags or comma-separated text, got 5"),
        ("tags", ",".join(f"t{i}" for i in range(33)), "at most 32 tags, got 33"),
        ("encoding", "utf-16", "byte-order mark"),
        ("encoding", "utf-8-sig", "byte-order mark"),
        ("ttl", "0.09", "must be between 0.1 and 3600 seconds, got 0.09"),
        ("ttl", 3601, "must be between 0.1 and 3600 seconds"),
        ("ttl", "soon", "must be a number of seconds, got 'soon'"),
        ("ttl", "nan", "must be between"),
        ("ttl", "inf", "must be between"),
        ("backoff_min", 0, "must be between 0.05 and 600 seconds"),
        ("backoff_min", 601, "must be between 0.05 and 600 seconds"),
        ("backoff_max", 0.01, "must be between 0.05 and 3600 seconds"),
        ("backoff_max", 3601, "must be between 0.05 and 3600 seconds"),
        ("name", None, "required"),
    ],
)
def test_refused_values_name_the_field(field, given, message):
    errors = errors_for({**REQUIRED, field: given})
    assert list(errors) == [field]
    assert message in errors[field]


def test_backoff_min_above_max_is_an_error_on_max():
    assert errors_for({**REQUIRED, "backoff_min": 5, "backoff_max": 2}) == {
        "backoff_max": "must be at least backoff_min",
    }
    assert validate({**REQUIRED, "backoff_min": 2, "backoff_max": 2}).backoff_max == 2.0


def test_edit_keeps_fields_not_given_and_checks_the_merged_result():
    base = validate({**REQUIRED, "terminator": "\\r\\n", "ttl": 5})
    edited = validate({"port": "4352"}, base=base)
    assert edited == Device(**{**base.to_dict(), "port": 4352})
    assert validate({}, base=base) == base
    assert errors_for({"backoff_min": 20}, base=base) == {
        "backoff_max": "must be at least backoff_min",
    }


def test_from_dict_rebuilds_what_to_dict_gave():
    device = validate({**REQUIRED, "enabled": False, "encoding": "latin-1", "tags": "b,a"})
    assert from_dict(device.to_dict()) == device


def test_from_dict_accepts_tags_as_a_list_as_msgpack_and_json_give_them():
    device = validate({**REQUIRED, "tags": "proj,stage-left"})
    assert from_dict(msgpack.unpackb(msgpack.packb(device.to_dict()))) == device
    assert from_dict(json.loads(json.dumps(device.to_dict()))) == device
    assert hash(from_dict({**device.to_dict(), "tags": ["proj", "stage-left"]})) == hash(device)


def test_from_dict_without_tags_gives_no_tags_so_older_peers_still_work():
    old = {k: v for k, v in validate(REQUIRED).to_dict().items() if k != "tags"}
    assert from_dict(old).tags == ()


def test_from_dict_keeps_a_stored_encoding_no_longer_allowed_and_an_edit_must_fix_it():
    stored = from_dict({**validate(REQUIRED).to_dict(), "encoding": "idna"})
    assert stored.encoding == "idna"
    assert list(errors_for({"port": 1}, base=stored)) == ["encoding"]
    assert validate({"encoding": "ascii"}, base=stored).encoding == "ascii"
    # ... but it can always be disabled and enabled (mid-show), as it is
    assert validate({"enabled": "no"}, base=stored) == Device(**{**stored.to_dict(),
                                                                 "enabled": False})
    assert errors_for({"enabled": "maybe"}, base=stored) == {
        "enabled": "must be true or false, got 'maybe'"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"encoding": "ascii", "terminator": "\u00e9"}, "terminator",
         "'\u00e9' cannot be written in ascii"),
        ({"encoding": "iso8859-1", "terminator": "\r\u20ac"}, "terminator",
         "cannot be written in iso8859-1 (use a \\xNN escape or another encoding)"),
        ({"encoding": "shift_jis", "terminator": "\u00e9"}, "terminator", "shift_jis"),
    ],
)
def test_terminator_must_encode_in_the_device_encoding(changes, field, message):
    errors = errors_for({**REQUIRED, **changes})
    assert list(errors) == [field]
    assert message in errors[field]


def test_terminator_and_encoding_are_checked_together_on_edit():
    base = validate({**REQUIRED, "terminator": "\u00e9", "encoding": "latin-1"})
    assert list(errors_for({"encoding": "ascii"}, base=base)) == ["terminator"]
    assert validate({"encoding": "ascii", "terminator": "\\xe9"}, base=base).terminator_bytes \
        == b"\xe9"
    # A bad encoding is reported once, on itself, not again as an unencodable terminator.
    assert list(errors_for({"encoding": "klingon"}, base=base)) == ["encoding"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_listed_encoding_is_canonical_stateless_and_adds_no_mark(encoding):
    device = validate({**REQUIRED, "encoding": encoding, "terminator": "\\r"})
    assert device.encoding == encoding
    assert device.payload_bytes("") == b"\r"
    # Each command is encoded on its own: the pieces must equal the whole.
    assert "A".encode(encoding) + "B".encode(encoding) == "AB".encode(encoding)


@pytest.mark.parametrize(
    ("changes", "text", "data"),
    [
        ({}, "%1POWR 1", b"%1POWR 1\r"),
        ({"terminator": "\\r\\n"}, "PWR ON", b"PWR ON\r\n"),
        ({"terminator": ""}, "\\x02PON\\x03", b"\x02PON\x03"),
        ({"encoding": "latin-1"}, "caf\u00e9", b"caf\xe9\r"),
        ({"encoding": "utf-16-le", "terminator": "\\x0d\\x00"}, "OK", b"O\x00K\x00\r\x00"),
    ],
)
def test_payload_bytes_decodes_escapes_and_adds_the_terminator(changes, text, data):
    assert validate({**REQUIRED, **changes}).payload_bytes(text) == data


@pytest.mark.parametrize("name", [".", ".."])
def test_all_dot_names_are_refused_they_break_urls_and_paths(name):
    with pytest.raises(ValidationError) as caught:
        validate({"name": name, "host": "127.0.0.1", "port": 1})
    assert "name" in caught.value.errors


_values = st.one_of(
    st.text(max_size=40), st.text(alphabet="abc,. -_\\xé€", max_size=20),
    st.lists(st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=40),
    st.integers(), st.floats(), st.none(), st.booleans(),
    st.sampled_from(["utf-8", "ascii", "idna", "utf-16", "hex", "UTF8", "latin-1", "cp1252"]),
)


@fuzz_pair(st.dictionaries(st.sampled_from(["tags", "encoding", "terminator", "enabled",
                                            "ttl"]), _values))
def fuzz_validate(changes):
    """Any input is a Device that keeps every promise, or a ValidationError: nothing else."""
    try:
        device = validate({**REQUIRED, **changes})
    except ValidationError as exc:
        assert exc.errors and all(isinstance(m, str) and m for m in exc.errors.values())
        return
    assert device.encoding in ENCODINGS
    assert list(device.tags) == sorted(set(device.tags))
    assert all(NAME_RE.fullmatch(tag) and set(tag) != {"."} for tag in device.tags)
    device.payload_bytes("")  # the terminator encodes: no exception on the first cue
    assert from_dict(msgpack.unpackb(msgpack.packb(device.to_dict()))) == device


test_fuzz_validate, test_fuzz_validate_long = fuzz_validate
