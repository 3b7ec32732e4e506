import pytest

from oscar.messages import Reply, Request
from oscar.models import validate
from oscar.registry_service import EXPORT_FORMAT, RegistryService, RequestError, parse_import
from oscar.store import Store

PROJ = {"name": "proj1", "host": "127.0.0.1", "port": 4352}
SWITCHER = {"name": "sw", "host": "localhost", "port": 23, "terminator": "\\r\\n",
            "enabled": False}


def export(*devices):
    return {"format": EXPORT_FORMAT, "version": 1, "oscar": "0.1.0", "devices": list(devices)}


def problems(data):
    with pytest.raises(RequestError) as caught:
        parse_import(data)
    assert caught.value.code == "invalid"
    return caught.value


def test_an_export_imports_as_the_same_devices():
    devices = [validate(PROJ), validate(SWITCHER)]
    assert parse_import(export(*(d.to_dict() for d in devices))) == devices


def test_an_empty_export_imports_no_devices():
    assert parse_import(export()) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([PROJ], "not an Oscar device export"),
        ({"devices": [PROJ]}, 'expected "format": "oscar-devices"'),
        ({"format": "qlab-workspace", "devices": [PROJ]}, "not an Oscar device export"),
        ({"format": EXPORT_FORMAT}, '"devices" must be a list'),
        ({"format": EXPORT_FORMAT, "devices": {"proj1": PROJ}}, '"devices" must be a list'),
    ],
)
def test_a_file_that_is_not_an_export_is_refused(data, message):
    assert message in str(problems(data))


@pytest.mark.parametrize(
    ("entries", "fields"),
    [
        ([PROJ, {**SWITCHER, "port": 0}], {"devices[1] (sw).port": "must be 1-65535, got 0"}),
        ([PROJ, "sw"], {"devices[1]": "must be an object"}),
        ([{"host": "127.0.0.1", "port": 1}], {"devices[0].name": "required"}),
        ([PROJ, {**PROJ, "port": 1}], {"devices[1] (proj1).name": "duplicate name 'proj1'"}),
        ([{**PROJ, "colour": "red"}], {"devices[0] (proj1).colour": "unknown field"}),
    ],
)
def test_problems_name_the_entry_and_field(entries, fields):
    assert problems(export(*entries)).fields == fields


def test_every_problem_is_reported_and_the_message_counts_them():
    error = problems(export({**PROJ, "port": "x", "ttl": 0}, 7, SWITCHER))
    assert set(error.fields) == {"devices[0] (proj1).port", "devices[0] (proj1).ttl",
                                 "devices[1]"}
    assert str(error).startswith("3 problem(s), first: devices[0] (proj1).port: ")


@pytest.fixture
def service(tmp_path):
    """Only the store is real: an import that is refused or dry-run touches nothing else."""
    store = Store(tmp_path / "oscar.sqlite3")
    published = []
    yield RegistryService(settings=None, store=store, publish=published.append, table=None,
                          programs=None, reconciler=None), published
    store.close()


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ({"data": export(SWITCHER, {**PROJ, "port": 0})},
         Reply(ok=False, code="invalid",
               error="1 problem(s), first: devices[1] (proj1).port: must be 1-65535, got 0",
               fields={"devices[1] (proj1).port": "must be 1-65535, got 0"})),
        ({"data": export(SWITCHER), "dry_run": True},
         Reply(ok=True, result={"devices": 1, "applied": False})),
    ],
)
def test_refused_or_dry_run_import_applies_nothing(service, args, reply):
    registry, published = service
    kept = registry.store.add(PROJ)
    assert registry.handle(Request(op="import", args=args)) == reply
    assert (registry.store.list(), registry.store.revision, published) == ([kept], 1, [])


def test_the_snapshot_follows_every_change_of_the_store(service):
    registry, _ = service
    registry.store.add(PROJ)
    first = registry.snapshot()
    assert [d["name"] for d in first.devices] == ["proj1"]
    assert registry.snapshot().encode() == first.encode()  # repeated byte for byte
    registry.store.update("proj1", {"port": 4353})
    changed = registry.snapshot()
    assert changed.revision == first.revision + 1
    assert changed.devices[0]["port"] == 4353
    registry.store.remove("proj1")
    assert registry.snapshot().devices == []
