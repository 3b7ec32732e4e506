"""The events history file: batched writes, filters, pruning by age and by rows, schema, and
what survives a reopen. Real SQLite files in tmp_path; the writer thread is not started (the
tests call flush() and prune() themselves), so nothing here depends on timing."""

import os
import sqlite3
import stat

import pytest

from oscar import history as history_mod
from oscar.history import History, HistoryError
from oscar.messages import Event
from tests.support import wait_for

DAY = 86400.0
T0 = 1_795_000_000.0


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def hist(tmp_path, clock):
    opened = History(tmp_path / "history.sqlite", clock=clock)
    yield opened
    opened.close()


def ev(kind="sent", device="proj1", detail="PWR ON", at=T0, sender="10.0.0.5:53000",
       source="device"):
    return Event(source, kind, detail, device=device, sender=sender, at=at)


def rows_in_file(path) -> int:
    db = sqlite3.connect(str(path))
    try:
        return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        db.close()


def test_events_wait_for_one_batched_write(hist):
    for i in range(50):
        hist.append(ev(detail=f"cmd {i}", at=T0 + i))
    assert rows_in_file(hist.path) == 0
    assert len(hist.query(limit=100)) == 50  # visible before they are written
    assert hist.flush() == 50
    assert rows_in_file(hist.path) == 50
    assert hist.counters["flushes"] == 1 and hist.counters["written"] == 50
    assert hist.flush() == 0 and hist.counters["flushes"] == 1


def test_a_full_batch_wakes_the_writer(tmp_path):
    small = History(tmp_path / "h.sqlite", batch_rows=3)
    try:
        small.append(ev())
        small.append(ev())
        assert not small._wake.is_set()
        small.append(ev())
        assert small._wake.is_set()
    finally:
        small.close()


def test_query_is_newest_first_with_every_field(hist):
    hist.append(ev(kind="sent", detail="A", at=T0 + 1))
    hist.append(ev(kind="reply", detail="B", at=T0 + 3, sender=""))
    hist.flush()
    hist.append(ev(kind="state", detail="C", at=T0 + 2))  # still waiting: merged in order
    assert hist.query() == [
        {"at": T0 + 3, "source": "device", "device": "proj1", "event": "reply",
         "detail": "B", "sender": ""},
        {"at": T0 + 2, "source": "device", "device": "proj1", "event": "state",
         "detail": "C", "sender": "10.0.0.5:53000"},
        {"at": T0 + 1, "source": "device", "device": "proj1", "event": "sent",
         "detail": "A", "sender": "10.0.0.5:53000"},
    ]


@pytest.mark.parametrize("written", [True, False])
def test_filters_by_device_kind_and_time_range(hist, written):
    for minute in range(10):
        hist.append(ev(device="proj1", kind="sent", detail=f"p{minute}", at=T0 + minute * 60))
        hist.append(ev(device="sw", kind="reply", detail=f"s{minute}", at=T0 + minute * 60))
    hist.append(ev(device="", source="listener", kind="rejected", detail="bad", at=T0 + 30))
    if written:
        hist.flush()

    def details(**filters):
        return [e["detail"] for e in hist.query(limit=100, **filters)]

    assert details(device="sw", since=T0 + 120, until=T0 + 240) == ["s4", "s3", "s2"]
    assert details(kind="sent", since=T0 + 480) == ["p9", "p8"]
    assert details(kind="sent", until=T0 + 60) == ["p1", "p0"]
    assert details(device="proj1", kind="reply") == []
    assert details(kind="rejected") == ["bad"]
    assert len(details()) == 21
    # inclusive bounds; events at the same time: the one received last first
    assert details(since=T0 + 540, until=T0 + 540) == ["s9", "p9"]
    assert len(hist.query(limit=5)) == 5
    assert hist.query(limit=5) == hist.query(limit=100)[:5]


def test_limit_is_clamped(hist):
    for i in range(3):
        hist.append(ev(at=T0 + i))
    assert len(hist.query(limit=0)) == 1
    assert len(hist.query(limit=10**9)) == 3


def test_prune_by_age_uses_the_registry_receive_time(hist, clock):
    hist.append(ev(detail="old", at=T0))
    clock.now = T0 + 2 * DAY
    hist.append(ev(detail="new but dated long ago", at=T0 - 30 * DAY))
    hist.append(ev(detail="new", at=clock.now))
    hist.flush()
    clock.now = T0 + 7 * DAY + 1  # "old" was received more than 7 days ago
    assert hist.prune() == 1
    assert [e["detail"] for e in hist.query()] == ["new", "new but dated long ago"]
    assert hist.counters["pruned"] == 1
    assert hist.prune() == 0


def test_prune_by_rows_keeps_the_newest(tmp_path, clock):
    small = History(tmp_path / "h.sqlite", max_rows=100, clock=clock, prune_chunk=7)
    try:
        for i in range(250):
            small.append(ev(detail=str(i), at=T0 + i))
        small.flush()
        assert small.prune() == 150  # in chunks of 7 rows per transaction
        assert small.count() == 100
        assert [e["detail"] for e in small.query(limit=1000)][-1] == "150"
        for i in range(250, 260):  # keeps going: numbering continues after the prune
            small.append(ev(detail=str(i), at=T0 + i))
        small.flush()
        small.prune()
        assert small.count() == 100
        assert small.query(limit=1)[0]["detail"] == "259"
    finally:
        small.close()


def test_rows_survive_a_reopen_and_numbering_continues(tmp_path, clock):
    path = tmp_path / "history.sqlite"
    first = History(path, clock=clock)
    first.append(ev(detail="before"))
    first.close()  # writes what waits
    again = History(path, clock=clock)
    try:
        again.append(ev(detail="after", at=T0 + 1))
        again.flush()
        assert [e["detail"] for e in again.query()] == ["after", "before"]
        assert again.schema_version == history_mod.SCHEMA_VERSION
    finally:
        again.close()


def test_committed_rows_survive_without_close(tmp_path):
    """What the writer committed is in the file even if the process dies right after (the
    connection is never closed here, like a registry killed with -9)."""
    path = tmp_path / "history.sqlite"
    writer = History(path)
    writer.append(ev(detail="committed"))
    writer.flush()
    writer.append(ev(detail="still waiting"))
    reader = History(path)
    try:
        assert [e["detail"] for e in reader.query()] == ["committed"]
    finally:
        reader.close()
        writer.close()


def test_schema_version_and_wal(hist):
    db = sqlite3.connect(str(hist.path))
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == history_mod.SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
        assert columns == ["id", "at", "logged", "source", "device", "event", "detail",
                           "sender"]
    finally:
        db.close()
    assert stat.S_IMODE(os.stat(hist.path).st_mode) == 0o600


def test_a_newer_schema_is_refused_and_open_moves_it_aside(tmp_path):
    path = tmp_path / "history.sqlite"
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE events (x)")
    db.execute(f"PRAGMA user_version = {history_mod.SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(HistoryError):
        History(path)
    fresh = History.open(path)
    try:
        assert fresh.count() == 0
        aside = [p.name for p in tmp_path.iterdir() if ".broken-" in p.name]
        assert len(aside) == 1
    finally:
        fresh.close()


def test_a_damaged_file_is_moved_aside(tmp_path):
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not an SQLite file at all" * 200)
    fresh = History.open(path)
    try:
        fresh.append(ev())
        fresh.flush()
        assert fresh.count() == 1
        assert any(".broken-" in p.name for p in tmp_path.iterdir())
    finally:
        fresh.close()


def test_beyond_max_pending_events_are_dropped_and_counted(tmp_path):
    small = History(tmp_path / "h.sqlite", max_pending=10)
    try:
        results = [small.append(ev(detail=str(i))) for i in range(15)]
        assert results == [True] * 10 + [False] * 5
        assert small.counters["dropped"] == 5 and small.pending() == 10
        small.flush()
        assert small.append(ev(detail="room again"))
    finally:
        small.close()


def test_the_writer_thread_writes_and_prunes(tmp_path):
    threaded = History(tmp_path / "h.sqlite", flush_every=0.05, prune_every=0.05,
                       max_rows=1000).start()
    try:
        for i in range(1500):
            threaded.append(ev(detail=str(i)))
        wait_for(lambda: threaded.pending() == 0 and threaded.count() == 1000, timeout=10,
                 message="written and pruned to 1000 rows")
    finally:
        threaded.close()
    assert rows_in_file(tmp_path / "h.sqlite") == 1000


def test_an_idle_writer_sleeps_until_an_event_comes_and_then_writes_it(tmp_path):
    threaded = History(tmp_path / "h.sqlite", flush_every=0.05).start()
    try:
        # Nothing waiting: the writer waits for the first event, not for a timer.
        wait_for(lambda: threaded._arrived.is_set() is False and threaded.pending() == 0,
                 timeout=10, message="writer idle")
        threaded.append(ev(detail="after a quiet spell"))
        assert threaded._arrived.is_set() or threaded.pending() == 0
        wait_for(lambda: rows_in_file(tmp_path / "h.sqlite") == 1, timeout=10,
                 message="the event written")
    finally:
        threaded.close()


def test_stats_say_where_and_how_much(hist):
    hist.append(ev())
    stats = hist.stats()
    assert stats["path"] == str(hist.path) and stats["pending"] == 1
    assert stats["max_days"] == 7.0 and stats["max_rows"] == 1_000_000
