"""Device tags in the store: the schema migration that adds them and their round trip."""

import pytest

from oscar.models import Device, ValidationError, validate
from oscar.store import MIGRATIONS, Store
from tests.unit.old_store import open_old_store

# The seed's schema, written out here (not taken from MIGRATIONS) so the test keeps describing
# the files that Oscar 1 left on disk even if MIGRATIONS[0] is ever touched.
VERSION_1 = """
CREATE TABLE devices (
    name TEXT PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL, enabled INTEGER NOT NULL,
    terminator TEXT NOT NULL, encoding TEXT NOT NULL, ttl REAL NOT NULL,
    backoff_min REAL NOT NULL, backoff_max REAL NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('revision', 7);
INSERT INTO devices VALUES ('proj1', '10.0.0.5', 4352, 1, '\\r', 'utf-8', 10, 0.5, 10, 1, 1);
INSERT INTO devices VALUES ('sw', '10.0.0.6', 23, 0, '\\r\\n', 'iso8859-1', 3, 1, 20, 1, 1);
INSERT INTO devices VALUES ('legacy', '10.0.0.7', 23, 1, '', 'idna', 10, 0.5, 10, 1, 1);
PRAGMA user_version = 1;
"""


def test_version_1_file_migrates_and_keeps_its_devices(path):
    store = open_old_store(path, VERSION_1)
    try:
        assert store.schema_version == len(MIGRATIONS)
        assert store.revision == 7
        assert store.list() == [
            Device("legacy", "10.0.0.7", 23, True, "", "idna", 10.0, 0.5, 10.0, ()),
            Device("proj1", "10.0.0.5", 4352, True, "\\r", "utf-8", 10.0, 0.5, 10.0, ()),
            Device("sw", "10.0.0.6", 23, False, "\\r\\n", "iso8859-1", 3.0, 1.0, 20.0, ()),
        ]
        tagged = store.update("proj1", {"tags": "stage-left,proj"})
        assert tagged.tags == ("proj", "stage-left")
    finally:
        store.close()
    again = Store(path)
    try:
        assert again.get("proj1").tags == ("proj", "stage-left")
        assert again.get("sw").tags == ()
    finally:
        again.close()


def test_device_with_an_encoding_no_longer_allowed_loads_but_an_edit_must_fix_it(path):
    store = open_old_store(path, VERSION_1)
    try:
        assert store.get("legacy").encoding == "idna"
        with pytest.raises(ValidationError) as caught:
            store.update("legacy", {"port": 24})
        assert list(caught.value.errors) == ["encoding"]
        assert store.get("legacy").port == 23
        assert store.update("legacy", {"enabled": False}).enabled is False  # always possible
        assert store.update("legacy", {"port": 24, "encoding": "ascii"}).encoding == "ascii"
    finally:
        store.close()


def test_tags_round_trip_through_add_replace_all_and_reopen(path):
    store = Store(path)
    try:
        store.add({"name": "p1", "host": "127.0.0.1", "port": 1, "tags": ["b", "a", "b"]})
        store.replace_all([store.get("p1"),
                           validate({"name": "p2", "host": "127.0.0.1", "port": 2,
                                     "tags": "solo"})])
    finally:
        store.close()
    again = Store(path)
    try:
        assert [(d.name, d.tags) for d in again.list()] == [("p1", ("a", "b")), ("p2", ("solo",))]
        assert again.update("p1", {"tags": ""}).tags == ()
        assert again.get("p1").tags == ()
    finally:
        again.close()
