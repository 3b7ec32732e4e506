"""Store migration 3 (the device's dialect, issue 8): a version-2 file keeps its devices, which
get the defaults (today's behaviour); the new fields round-trip exactly."""

from oscar.models import Device, validate
from oscar.store import Store
from tests.unit.old_store import open_old_store

# The version-2 schema as Oscar left it on disk, written out here (not taken from MIGRATIONS) so
# the test keeps describing those files even if the migrations are ever touched.
VERSION_2 = """
CREATE TABLE devices (
    name TEXT PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL, enabled INTEGER NOT NULL,
    terminator TEXT NOT NULL, encoding TEXT NOT NULL, ttl REAL NOT NULL,
    backoff_min REAL NOT NULL, backoff_max REAL NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    tags TEXT NOT NULL DEFAULT ''
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('revision', 12);
INSERT INTO meta VALUES ('store_id', 123456789);
INSERT INTO devices VALUES ('proj1', '10.0.0.5', 4352, 1, '\\r', 'utf-8', 10, 0.5, 10, 1, 1,
                            'proj,stage-left');
INSERT INTO devices VALUES ('sw', '10.0.0.6', 23, 0, '\\r\\n', 'iso8859-1', 3, 1, 20, 1, 1, '');
PRAGMA user_version = 2;
"""


def test_version_2_file_migrates_keeping_devices_with_todays_behaviour(path):
    store = open_old_store(path, VERSION_2)
    try:
        assert store.schema_version >= 3
        assert store.revision == 12
        assert store.store_id == f"{123456789:016x}"
        assert store.list() == [
            Device("proj1", "10.0.0.5", 4352, True, "\\r", "utf-8", 10.0, 0.5, 10.0,
                   ("proj", "stage-left")),
            Device("sw", "10.0.0.6", 23, False, "\\r\\n", "iso8859-1", 3.0, 1.0, 20.0, ()),
        ]
        proj = store.get("proj1")
        assert (proj.profile, proj.transport, proj.connection, proj.password, proj.on_connect,
                proj.wait_for_reply) == ("generic", "tcp", "persistent", "", (), False)
        edited = store.update("proj1", {"profile": "pjlink", "password": "pw"})
        # an edit that changes the profile moves fields still at generic's default
        assert edited.connection == "on-demand"
        assert edited.port == 4352
        assert edited.password == "pw"
    finally:
        store.close()
    again = Store(path)
    try:
        assert again.get("proj1") == edited
        assert again.get("sw").profile == "generic"
    finally:
        again.close()


def test_dialect_fields_round_trip_through_the_store(path):
    device = validate({"name": "wo", "host": "127.0.0.1", "profile": "watchout",
                       "transport": "udp", "connection": "per-command", "idle_close": 5,
                       "username": "ü-user", "password": "p'w\"; DROP",
                       "on_connect": ["authenticate 1", "a,b", "[\"json\"]", "é\\x00"],
                       "keepalive": "PING:\\n", "keepalive_interval": 15, "reply_timeout": 2,
                       "min_gap": 0.1, "wait_for_reply": True, "reply_terminator": ")"})
    store = Store(path)
    try:
        assert store.add(device.to_dict()) == device
        store.replace_all([device, validate({"name": "plain", "host": "127.0.0.1",
                                             "port": 9})])
    finally:
        store.close()
    again = Store(path)
    try:
        assert again.get("wo") == device
        assert again.get("wo").on_connect == device.on_connect
        assert again.update("wo", {"on_connect": []}).on_connect == ()
        assert again.get("wo").on_connect == ()
        assert again.update("wo", {"wait_for_reply": False, "password": ""}).password == ""
        assert again.get("wo").wait_for_reply is False
    finally:
        again.close()
