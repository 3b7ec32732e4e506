import sqlite3

import pytest

from oscar.models import ValidationError, validate
from oscar.store import MIGRATIONS, NotFound, Store


def device(name, **changes):
    return {"name": name, "host": "127.0.0.1", "port": 9999, **changes}


@pytest.fixture
def store(path):
    opened = Store(path)
    yield opened
    opened.close()


def test_new_store_is_empty_at_the_latest_schema(store):
    assert store.list() == []
    assert store.revision == 0
    assert store.schema_version == len(MIGRATIONS)


def test_add_get_list(store):
    added = store.add(device("proj2", terminator="\\r\\n", enabled="no"))
    store.add(device("proj1"))
    assert added == validate(device("proj2", terminator="\\r\\n", enabled=False))
    assert store.get("proj2") == added
    assert store.get("proj2").enabled is False
    assert [d.name for d in store.list()] == ["proj1", "proj2"]


def test_every_change_bumps_the_revision(store):
    store.add(device("proj1"))
    store.update("proj1", {"port": 4352})
    store.remove("proj1")
    store.replace_all([validate(device("sw"))])
    assert store.revision == 4


def test_invalid_add_stores_nothing(store):
    with pytest.raises(ValidationError) as caught:
        store.add(device("proj1", port=0))
    assert list(caught.value.errors) == ["port"]
    assert (store.list(), store.revision) == ([], 0)


def test_duplicate_name_is_a_field_error_and_changes_nothing(store):
    first = store.add(device("proj1"))
    with pytest.raises(ValidationError) as caught:
        store.add(device("proj1", host="10.0.0.9"))
    assert caught.value.errors == {"name": "a device named 'proj1' already exists"}
    assert (store.list(), store.revision) == ([first], 1)


def test_update_changes_only_the_given_fields(store):
    store.add(device("proj1", ttl=5))
    updated = store.update("proj1", {"port": "4352", "enabled": False})
    assert (updated.port, updated.enabled, updated.ttl) == (4352, False, 5.0)
    assert store.get("proj1") == updated


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"port": 0}, "port"),
        ({"ttl": 5, "backoff_min": 20}, "backoff_max"),
        ({"name": "proj2"}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_failed_update_leaves_the_row_unchanged(store, changes, field):
    before = store.add(device("proj1"))
    with pytest.raises(ValidationError) as caught:
        store.update("proj1", changes)
    assert field in caught.value.errors
    assert (store.get("proj1"), store.revision) == (before, 1)


def test_update_may_repeat_the_same_name(store):
    store.add(device("proj1"))
    assert store.update("proj1", {"name": "proj1", "port": 1}).port == 1


def test_remove(store):
    store.add(device("proj1"))
    store.add(device("proj2"))
    assert store.remove("proj1").name == "proj1"
    assert [d.name for d in store.list()] == ["proj2"]


@pytest.mark.parametrize(
    "action",
    [
        lambda store: store.get("ghost"),
        lambda store: store.update("ghost", {"port": 1}),
        lambda store: store.remove("ghost"),
    ],
)
def test_unknown_name_is_not_found(store, action):
    with pytest.raises(NotFound, match="no device named 'ghost'"):
        action(store)
    assert store.revision == 0


def test_reopening_keeps_devices_and_revision(path):
    first = Store(path)
    added = first.add(device("proj1", encoding="latin-1"))
    first.close()
    again = Store(path)
    try:
        assert (again.list(), again.revision) == ([added], 1)
        assert again.schema_version == len(MIGRATIONS)
    finally:
        again.close()


def test_database_from_a_newer_oscar_is_refused(path):
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer than this Oscar"):
        Store(path)


def test_replace_all_swaps_the_whole_configuration(store):
    store.add(device("old"))
    new = [validate(device("a")), validate(device("b", port=1))]
    assert store.replace_all(new) == 2
    assert store.list() == new
    assert store.replace_all([]) == 3
    assert store.list() == []


def test_replace_all_with_a_duplicate_inside_changes_nothing(store):
    kept = store.add(device("kept"))
    with pytest.raises(ValidationError) as caught:
        store.replace_all([validate(device("a")), validate(device("a", port=1))])
    assert caught.value.errors == {"name": "a device named 'a' already exists"}
    assert (store.list(), store.revision) == ([kept], 1)
