"""Store migration 4: the system_settings table (the feedback targets live there)."""

import sqlite3

from oscar.store import MIGRATIONS, Store


def test_a_schema_3_store_gains_system_settings_and_keeps_its_devices(tmp_path):
    path = tmp_path / "oscar.sqlite3"
    db = sqlite3.connect(str(path))
    for statements in MIGRATIONS[:3]:
        db.executescript(statements)
    db.execute("INSERT INTO devices (name, host, port, enabled, terminator, encoding, ttl, "
               "backoff_min, backoff_max, created_at, updated_at) VALUES "
               "('proj1', '10.0.0.9', 4352, 1, '\\r', 'utf-8', 10, 0.5, 10, 0, 0)")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    store = Store(path)
    try:
        assert store.schema_version == len(MIGRATIONS) >= 4
        assert [d.name for d in store.list()] == ["proj1"]
        assert store.system_setting("feedback") is None
        revision = store.revision
        store.set_system_setting("feedback", '{"targets": []}')
        store.set_system_setting("feedback", '{"targets": ["udp://h:1"]}')
        assert store.system_setting("feedback") == '{"targets": ["udp://h:1"]}'
        assert store.revision == revision  # not a device change: followers are not bothered
    finally:
        store.close()
    again = Store(path)
    try:
        assert again.system_setting("feedback") == '{"targets": ["udp://h:1"]}'
    finally:
        again.close()
