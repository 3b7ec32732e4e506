from oscar.command_queue import MAX_QUEUED, CommandQueue, Pending
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


def test_take_expired_keeps_a_half_written_head():
    queue = CommandQueue()
    queue.push(pending("half-written", 50.0))
    queue.push(pending("stale", 50.0))
    queue.head().offset = 3
    assert texts(queue.take_expired(now=100.0, ttl=10.0)) == ["stale"]
    assert queue.head().offset == 3
    assert drain(queue) == ["half-written"]


def test_rewind_makes_the_head_go_again_whole():
    queue = CommandQueue()
    queue.push(pending("%1POWR 1", 50.0))
    queue.head().data, queue.head().offset = b"%1POWR 1\r", 4
    queue.rewind()
    assert queue.head().offset == 0
    # Rewound, the old head is no longer protected from expiry.
    assert texts(queue.take_expired(now=100.0, ttl=10.0)) == ["%1POWR 1"]


def test_rewind_on_an_empty_queue_does_nothing():
    queue = CommandQueue()
    queue.rewind()
    assert len(queue) == 0
