"""The failed-login table on its own: counting window, per-client, bounded."""

from oscar.web.login_limit import LoginLimiter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_five_failures_in_a_minute_block_until_the_oldest_ages_out():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for second in range(5):
        assert limiter.retry_after("a") == 0
        clock.now = second * 10.0
        limiter.failed("a")
    assert limiter.retry_after("a") == 20  # the first failure (t=0) ages out at t=60
    clock.now = 59.5
    assert limiter.retry_after("a") == 1
    clock.now = 60.0
    assert limiter.retry_after("a") == 0
    limiter.failed("a")  # one more: five within the window again (t=10..60)
    assert limiter.retry_after("a") == 10


def test_failures_spread_out_never_block():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for minute in range(20):
        clock.now = minute * 15.0
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
        if minute % 4 == 3:
            clock.now += 61  # a quiet minute now and then
            assert limiter.retry_after("a") == 0


def test_success_clears_the_client_and_clients_are_separate():
    limiter = LoginLimiter(clock=Clock())
    for _ in range(5):
        limiter.failed("a")
    limiter.failed("b")
    assert limiter.retry_after("a") > 0 and limiter.retry_after("b") == 0
    limiter.succeeded("b")
    assert limiter.retry_after("a") > 0
    assert len(limiter) == 1


def test_the_table_is_bounded_forgetting_the_client_seen_longest_ago():
    clock = Clock()
    limiter = LoginLimiter(max_clients=100, clock=clock)
    for _ in range(5):
        limiter.failed("attacker")
    for n in range(99):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100 and limiter.retry_after("attacker") > 0
    for n in range(10_000):
        limiter.failed(f"2001:db8::{n:x}")
    assert len(limiter) == 100
    # forgotten: a fresh allowance, at worst 5 more guesses per address cycled through
    assert limiter.retry_after("attacker") == 0


def test_entries_older_than_the_window_are_dropped_when_looked_at():
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    limiter.failed("a")
    clock.now = 61.0
    assert limiter.retry_after("a") == 0
    assert len(limiter) == 0
