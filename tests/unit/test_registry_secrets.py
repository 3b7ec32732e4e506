"""The password is a secret (contract A): registry replies carry public dicts, the private wire
to actors the whole record, an export the password only when asked."""

import json
import logging
from types import SimpleNamespace

import pytest

from oscar import desired_state
from oscar.messages import ConfigSnapshot, DeviceConfig, Request
from oscar.registry_service import RegistryService, parse_import
from oscar.status_table import StatusTable
from oscar.store import Store

SECRET = "pj-S3cret!"
PJ = {"name": "pj", "host": "127.0.0.1", "profile": "pjlink", "password": SECRET}


class Wanted:
    def want(self, devices):
        self.devices = devices


@pytest.fixture
def registry(tmp_path):
    store = Store(tmp_path / "oscar.sqlite3")
    published = []
    settings = SimpleNamespace(desired_state_path=tmp_path / "desired.msgpack")
    service = RegistryService(settings=settings, store=store, publish=published.append,
                              table=StatusTable(), programs=None, reconciler=Wanted())
    yield service, published
    store.close()


def call(service, op, **args):
    reply = service.handle(Request(op=op, args=args))
    assert reply.ok, reply
    return reply.result


def test_operator_replies_never_carry_the_password(registry, caplog):
    service, _ = registry
    caplog.set_level(logging.DEBUG)
    replies = [
        call(service, "add", device=PJ),
        call(service, "get", name="pj"),
        call(service, "list"),
        call(service, "update", name="pj", changes={"port": 4353}),
        call(service, "status"),
        call(service, "status", name="pj"),
        call(service, "export"),
        call(service, "disable", name="pj"),
        call(service, "remove", name="pj"),
    ]
    for reply in replies:
        assert SECRET not in json.dumps(reply)
    assert replies[0]["password_set"] is True
    assert "password" not in replies[0]
    assert replies[4]["devices"][0]["config"]["password_set"] is True
    assert SECRET not in caplog.text
    assert "pj" in caplog.text  # the log did say what happened


def test_actors_get_the_whole_record(registry, tmp_path):
    service, published = registry
    call(service, "add", device=PJ)
    config = [m for m in published if isinstance(m, DeviceConfig)][-1]
    assert config.device["password"] == SECRET
    service.sync()
    snapshot = [m for m in published if isinstance(m, ConfigSnapshot)][-1]
    assert snapshot.devices[0]["password"] == SECRET
    state = desired_state.load(tmp_path / "desired.msgpack")
    assert state.devices["pj"].password == SECRET
    assert (tmp_path / "desired.msgpack").stat().st_mode & 0o077 == 0


def test_blank_password_in_an_update_is_an_explicit_clear(registry):
    """The registry takes changes literally; "blank keeps" is the web form's rule."""
    service, _ = registry
    call(service, "add", device=PJ)
    assert call(service, "update", name="pj", changes={"username": "x"})["password_set"]
    assert not call(service, "update", name="pj", changes={"password": ""})["password_set"]


def test_export_without_secrets_imports_devices_without_password(registry):
    service, _ = registry
    call(service, "add", device=PJ)
    data = call(service, "export")
    assert data["secrets"] is False
    assert data["devices"][0]["password_set"] is True
    assert "password" not in data["devices"][0]
    (device,) = parse_import(json.loads(json.dumps(data)))
    assert device.password == ""
    assert device.port == 4352 and device.profile == "pjlink"


def test_export_with_secrets_restores_them(registry):
    service, _ = registry
    call(service, "add", device=PJ)
    call(service, "add", device={"name": "plain", "host": "127.0.0.1", "port": 9,
                                 "on_connect": ["hello", "\\x1B3CV"]})
    data = call(service, "export", with_secrets=True)
    assert data["secrets"] is True
    assert data["devices"][0]["password"] == SECRET  # sorted by name: pj, plain
    before = service.store.list()
    result = call(service, "import", data=json.loads(json.dumps(data)))
    assert result == {"devices": 2, "applied": True}
    assert service.store.list() == before
    assert service.store.get("pj").password == SECRET
