from hypothesis import given, settings
from hypothesis import strategies as st

from oscar.command_queue import MAX_QUEUED, CommandQueue, InFlight, Pending
from oscar.messages import Command


def pending(text, received_at=100.0):
    return Pending(Command(device="proj", data=text.encode(), received_at=received_at))


def texts(items):
    return [item.command.data.decode() for item in items]


def drain(queue):
    out = []
    while queue.head() is not None:
        out.append(queue.pop())
    return texts(out)


def test_commands_come_out_in_the_order_they_went_in():
    queue = CommandQueue()
    for text in ("one", "two", "three"):
        assert queue.push(pending(text))
    assert len(queue) == 3
    assert drain(queue) == ["one", "two", "three"]
    assert len(queue) == 0 and queue.head() is None


def test_push_refuses_beyond_the_limit_and_keeps_what_it_has():
    queue = CommandQueue(limit=2)
    assert queue.push(pending("one")) and queue.push(pending("two"))
    assert not queue.push(pending("three"))
    assert drain(queue) == ["one", "two"]
    assert CommandQueue().limit == MAX_QUEUED


def test_take_expired_removes_only_commands_older_than_ttl():
    queue = CommandQueue()
    for text, at in (("stale", 80.0), ("edge", 90.0), ("fresh", 99.0), ("stale-late", 85.0)):
        queue.push(pending(text, at))
    assert texts(queue.take_expired(now=100.0, ttl=10.0)) == ["stale", "stale-late"]
    assert drain(queue) == ["edge", "fresh"]


def test_requeue_puts_commands_back_in_front_in_their_order_to_go_whole():
    queue = CommandQueue()
    queue.push(pending("later"))
    lost = [pending("first"), pending("second")]
    lost[0].data, lost[0].offset, lost[0].end = b"first\r", 6, 6
    lost[1].data, lost[1].offset, lost[1].end = b"second\r", 3, 13
    queue.requeue(lost)
    assert [(p.offset, p.end) for p in lost] == [(0, 0), (0, 0)]
    assert drain(queue) == ["first", "second", "later"]


def test_requeue_nothing_changes_nothing():
    queue = CommandQueue()
    queue.requeue([])
    assert len(queue) == 0


def started(wire, text, received_at=100.0):
    item = pending(text, received_at)
    item.data = text.encode() + b"\r"
    wire.start(item)
    return item


def test_in_flight_commands_count_as_taken_once_their_last_byte_is_acknowledged():
    wire = InFlight()
    one, two = started(wire, "one"), None
    wire.wrote(one, 4)  # "one\r" handed to the kernel whole
    two = started(wire, "two")
    wire.wrote(two, 2)  # half of "two\r"
    assert wire.partial() is two
    assert texts(wire.take_acked(unacked=6)) == []  # nothing acknowledged yet
    assert texts(wire.take_acked(unacked=3)) == []  # "one" lacks its terminator
    assert texts(wire.take_acked(unacked=2)) == ["one"]
    assert len(wire) == 1 and wire.partial() is two
    wire.wrote(two, 2)
    assert wire.partial() is None
    assert texts(wire.take_acked(unacked=0)) == ["two"]
    assert not wire and wire.oldest_received() is None


def test_in_flight_knows_its_oldest_command_even_out_of_order():
    wire = InFlight()
    for text, at in (("a", 50.0), ("b", 40.0), ("c", 45.0), ("d", 60.0)):
        wire.wrote(started(wire, text, at), 2)
    assert wire.oldest_received() == 40.0
    assert texts(wire.take_acked(unacked=6)) == ["a"]
    assert wire.oldest_received() == 40.0
    assert texts(wire.take_acked(unacked=4)) == ["b"]
    assert wire.oldest_received() == 45.0
    assert texts(wire.clear()) == ["c", "d"]
    assert wire.oldest_received() is None and len(wire) == 0


def test_extend_takes_what_fits_in_order_and_says_how_many():
    queue = CommandQueue(limit=4)
    queue.push(pending("zero"))
    assert queue.extend([pending(t) for t in ("one", "two")]) == 2
    assert queue.extend([pending(t) for t in ("three", "four", "five")]) == 1
    assert queue.extend([pending("six")]) == 0
    assert drain(queue) == ["zero", "one", "two", "three"]


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(0, 12), min_size=1, max_size=8),
       ages=st.lists(st.floats(0, 100), min_size=8, max_size=8),
       before=st.integers(0, 30), count=st.integers(0, 120), unacked=st.integers(0, 150))
def test_a_batch_start_is_each_command_started_and_written_in_turn(sizes, ages, before, count,
                                                                   unacked):
    """start_written (one send() for a batch) leaves the connection's bookkeeping exactly as
    start() and wrote() per command do: offsets, ends, what is partial, oldest and acked."""
    def batch():
        items = [pending(f"c{i}", ages[i]) for i in range(len(sizes))]
        for item, size in zip(items, sizes, strict=True):
            item.data = b"x" * size
        return items
    one_by_one, together = InFlight(), InFlight()
    for wire in (one_by_one, together):
        wire.skip(before)  # a login or keep-alive went first
    items, left = batch(), count
    started = 0
    for item in items:  # write_batch's old per-command path
        if not left and item.data:
            break
        one_by_one.start(item)
        took = min(left, len(item.data))
        one_by_one.wrote(item, took)
        left -= took
        started += 1
    others = batch()
    assert together.start_written(others, count) == started
    assert [(i.offset, i.end) for i in others[:started]] == \
        [(i.offset, i.end) for i in items[:started]]
    assert together.written == one_by_one.written and len(together) == len(one_by_one)
    assert (together.partial() is None) == (one_by_one.partial() is None)
    assert together.oldest_received() == one_by_one.oldest_received()
    assert texts(together.take_acked(unacked)) == texts(one_by_one.take_acked(unacked))
