"""Text shown to the operator reads as they would type it: no doubled backslashes, no U+FFFD."""

from oscar import osc_send
from oscar.actor import _short
from oscar.cli import error_text
from oscar.client import RegistryError


def test_sent_bytes_that_are_not_text_show_as_escapes():
    assert _short(b"\xff") == "\\xff"
    assert _short(b"A\x01B") == "A\\x01B"
    assert _short("café".encode()) == "café"
    assert _short(b"%1POWR 1\r") == "%1POWR 1"


def test_a_confirmation_shows_the_text_as_typed():
    assert osc_send.describe([("s", "ROUTE 1 2\\r")]) == "'ROUTE 1 2\\r'"


def test_field_errors_already_in_the_message_are_said_once():
    exc = RegistryError("invalid", "port: must be 1-65535, got 0",
                        {"port": "must be 1-65535, got 0"})
    assert error_text(exc) == "port: must be 1-65535, got 0"
    exc = RegistryError("invalid", "2 problem(s), first: a: x", {"a": "x", "b": "y"})
    assert error_text(exc) == "2 problem(s), first: a: x\n  b: y"
