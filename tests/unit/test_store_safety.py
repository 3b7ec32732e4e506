"""Store safety: a lost store is refused, never silently replaced; daily backups; store ids and
revisions that never go backwards; the gate followers use to take config messages."""

import os
import stat
import time

import pytest

from oscar import backups, desired_state
from oscar import settings as settings_mod
from oscar.desired_state import RevisionGate
from oscar.models import validate
from oscar.store import Store
from oscar.store_guard import StoreRefused, open_store


def device(name, **changes):
    return validate({"name": name, "host": "127.0.0.1", "port": 9999, **changes})


@pytest.fixture
def settings(tmp_path):
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path)})
    loaded.ensure_dirs()
    return loaded


def write_state(settings, names, revision, store_id="s1"):
    desired_state.write(settings.desired_state_path, [device(n) for n in names], revision,
                        store_id)


def make_store(settings, names):
    store = Store(settings.db_path)
    for name in names:
        store.add(device(name).to_dict())
    return store


# ---- refusing a lost store -------------------------------------------------------------------

def test_fresh_install_starts_with_an_empty_store(settings):
    store = open_store(settings)
    assert (store.list(), store.revision) == ([], 0)
    store.close()


def test_fresh_install_with_an_empty_desired_state_starts(settings):
    write_state(settings, [], 12)
    store = open_store(settings)
    assert store.list() == []
    assert store.revision == 13  # above what followers have seen
    store.close()


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_missing_or_empty_store_with_running_devices_is_refused(settings, damage):
    write_state(settings, ["proj1", "proj2"], 9)
    if damage == "empty":
        settings.db_path.write_bytes(b"")
    with pytest.raises(StoreRefused) as caught:
        open_store(settings)
    text = str(caught.value)
    assert str(settings.db_path) in text
    assert str(settings.desired_state_path) in text
    assert "2 device(s): proj1, proj2" in text
    assert "oscar import FILE" in text
    assert "no daily backup found" in text
    # nothing was created or written
    assert settings.db_path.exists() is (damage == "empty")
    if damage == "empty":
        assert settings.db_path.stat().st_size == 0


def test_refusal_names_the_newest_backup_with_the_exact_command(settings):
    store = make_store(settings, ["proj1"])
    folder = backups.directory(settings.home)
    for day in ("2026-11-20", "2026-11-24", "2026-11-22"):
        folder.mkdir(exist_ok=True)
        store.backup_to(folder / f"oscar-{day}.sqlite3")
    store.close()
    write_state(settings, ["proj1"], 1)
    settings.db_path.unlink()
    for extra in ("-wal", "-shm"):
        settings.db_path.with_name(settings.db_path.name + extra).unlink(missing_ok=True)
    with pytest.raises(StoreRefused) as caught:
        open_store(settings)
    command = (f"rm -f {settings.db_path}-wal {settings.db_path}-shm && "
               f"cp {folder / 'oscar-2026-11-24.sqlite3'} {settings.db_path}")
    assert command in str(caught.value)


def test_sqlite_file_without_oscar_tables_is_refused_when_devices_run(settings):
    import sqlite3

    sqlite3.connect(str(settings.db_path)).execute("CREATE TABLE other (x)").connection.close()
    write_state(settings, ["proj1"], 3)
    with pytest.raises(StoreRefused, match="holds no Oscar data"):
        open_store(settings)


@pytest.mark.parametrize("with_state", [True, False])
def test_garbage_store_is_refused_and_left_untouched(settings, with_state):
    garbage = os.urandom(4096)
    settings.db_path.write_bytes(garbage)
    if with_state:
        write_state(settings, ["proj1"], 3)
    with pytest.raises(StoreRefused) as caught:
        open_store(settings)
    assert "cannot be read" in str(caught.value)
    assert f"mv {settings.db_path} {settings.db_path}.damaged" in str(caught.value)
    assert settings.db_path.read_bytes() == garbage


def test_damaged_pages_are_refused(settings):
    make_store(settings, [f"proj{i}" for i in range(200)]).close()
    data = bytearray(settings.db_path.read_bytes())
    data[4096:4096 + 12] = b"\xee" * 12  # the header of the page after the schema
    settings.db_path.write_bytes(bytes(data))
    with pytest.raises(StoreRefused, match="cannot be read"):
        open_store(settings)


def test_unreadable_desired_state_with_a_missing_store_is_refused(settings):
    settings.desired_state_path.write_bytes(b"\x00garbage")
    with pytest.raises(StoreRefused, match="desired-state file is unreadable"):
        open_store(settings)


def test_good_store_with_running_devices_opens(settings):
    make_store(settings, ["proj1"]).close()
    write_state(settings, ["proj1"], 1)
    store = open_store(settings)
    assert [d.name for d in store.list()] == ["proj1"]
    store.close()


# ---- revisions never go backwards ------------------------------------------------------------

def test_store_id_is_made_once_and_kept(settings):
    store = Store(settings.db_path)
    first = store.store_id
    store.close()
    again = Store(settings.db_path)
    assert again.store_id == first and len(first) == 16
    again.close()
    other = Store(settings.home / "other.sqlite3")
    assert other.store_id != first
    other.close()


def test_restored_backup_counts_on_above_the_data_planes_revision(settings):
    store = make_store(settings, ["proj1"])
    folder = backups.directory(settings.home)
    folder.mkdir()
    store.backup_to(folder / "oscar-2026-11-25.sqlite3")  # at revision 1
    for name in ("proj2", "proj3"):
        store.add(device(name).to_dict())
    old_id, old_revision = store.store_id, store.revision
    write_state(settings, ["proj1", "proj2", "proj3"], old_revision, old_id)
    store.close()
    settings.db_path.unlink()
    (folder / "oscar-2026-11-25.sqlite3").rename(settings.db_path)

    restored = open_store(settings)
    assert [d.name for d in restored.list()] == ["proj1"]
    assert restored.revision == old_revision + 1
    assert restored.store_id == old_id
    restored.add(device("proj4").to_dict())
    assert restored.revision == old_revision + 2
    restored.close()


def test_a_store_from_elsewhere_at_the_same_revision_moves_up_one(settings):
    make_store(settings, ["proj1"]).close()  # revision 1
    write_state(settings, ["proj1"], 1, "another-store")
    store = open_store(settings)
    assert store.revision == 2
    store.close()


def test_raise_revision_never_lowers(settings):
    store = Store(settings.db_path)
    assert store.raise_revision(5) and store.revision == 5
    assert not store.raise_revision(3) and store.revision == 5
    store.close()


def test_gate_follows_revisions_within_a_store():
    gate = RevisionGate()
    assert gate.accepts("a", 3, whole=True)
    assert not gate.accepts("a", 3, whole=True)  # the periodic snapshot repeats itself
    assert gate.accepts("a", 3)  # a change at the same revision (first of a burst)
    assert not gate.accepts("a", 2)
    assert not gate.accepts("a", 2, whole=True)
    assert gate.accepts("a", 4)
    assert (gate.store_id, gate.revision) == ("a", 4)


def test_gate_takes_a_lower_revision_only_from_a_new_store_and_only_whole():
    gate = RevisionGate(40, "a")
    assert not gate.accepts("b", 2)  # one device of another store: wait for its snapshot
    assert gate.accepts("b", 2, whole=True)
    assert (gate.store_id, gate.revision) == ("b", 2)
    assert gate.accepts("b", 3)
    assert not gate.accepts("a", 41)  # the old store's late words
    assert gate.accepts("a", 41, whole=True)


def test_gate_started_from_a_file_without_store_id_compares_revisions():
    gate = RevisionGate(10)
    assert not gate.accepts("a", 9, whole=True)
    assert gate.accepts("a", 10)
    assert gate.store_id == "a"
    legacy = RevisionGate(10, "a")
    assert not legacy.accepts("", 9) and legacy.accepts("", 11)


def test_desired_state_file_keeps_store_id_and_is_private(settings):
    write_state(settings, ["proj1"], 7, "abc")
    state = desired_state.load(settings.desired_state_path)
    assert (sorted(state.devices), state.revision, state.store_id) == (["proj1"], 7, "abc")
    assert desired_state.read(settings.desired_state_path)[1] == 7
    assert stat.S_IMODE(settings.desired_state_path.stat().st_mode) == 0o600


# ---- daily backups ---------------------------------------------------------------------------

class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


def day(text):
    return time.mktime(time.strptime(text + " 12:00", "%Y-%m-%d %H:%M"))


def test_backup_at_start_then_once_a_day_keeping_seven(settings):
    store = make_store(settings, ["proj1"])
    folder = backups.directory(settings.home)
    clock = Clock(day("2026-11-01"))
    backup = backups.DailyBackup(store, folder, clock=clock)
    assert backup.tick() == folder / "oscar-2026-11-01.sqlite3"
    assert backup.tick() is None  # same day
    for n in range(2, 11):
        clock.now = day(f"2026-11-{n:02}")
        store.add(device(f"extra{n}").to_dict())
        backup.tick()
    names = [p.name for p in backups.existing(folder)]
    assert names == [f"oscar-2026-11-{n:02}.sqlite3" for n in range(4, 11)]
    for path in backups.existing(folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    copy = Store(folder / "oscar-2026-11-10.sqlite3")
    assert (len(copy.list()), copy.revision, copy.store_id) == (
        len(store.list()), store.revision, store.store_id)
    copy.close()
    store.close()


def test_empty_store_is_not_backed_up(settings):
    store = Store(settings.db_path)
    folder = backups.directory(settings.home)
    assert backups.DailyBackup(store, folder).tick() is None
    assert backups.existing(folder) == []
    store.close()


def test_failed_backup_is_logged_and_retried_later(settings, caplog):
    store = make_store(settings, ["proj1"])
    blocker = settings.home / "not-a-folder"
    blocker.write_text("x")
    clock = Clock(day("2026-11-01"))
    backup = backups.DailyBackup(store, blocker / "backups", clock=clock)
    assert backup.tick() is None
    assert "could not back up the store" in caplog.text
    assert backup.tick() is None  # not again at once
    blocker.unlink()
    clock.now += backups.RETRY_AFTER
    assert backup.tick() is not None
    store.close()


def test_another_empty_store_in_place_of_ours_is_refused(settings):
    write_state(settings, ["proj1"], 8, "ours")
    Store(settings.db_path).close()  # a fresh, empty Oscar store from elsewhere
    with pytest.raises(StoreRefused, match="is another store .* with no devices"):
        open_store(settings)


def test_our_store_with_every_device_removed_opens(settings):
    store = make_store(settings, ["proj1"])
    store.remove("proj1")
    write_state(settings, [], store.revision, store.store_id)
    store.close()
    reopened = open_store(settings)
    assert reopened.list() == []
    reopened.close()
