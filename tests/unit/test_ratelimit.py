from oscar.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_allows_per_second_events_then_counts_the_suppressed():
    limiter = RateLimiter(per_second=3, clock=Clock())
    assert [limiter.allow("malformed") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.suppressed == {"malformed": 2}


def test_each_key_has_its_own_allowance():
    limiter = RateLimiter(per_second=1, clock=Clock())
    assert limiter.allow("malformed") and limiter.allow("unknown_device")
    assert not limiter.allow("malformed")
    assert limiter.suppressed == {"malformed": 1}


def test_a_new_second_starts_a_new_allowance():
    clock = Clock()
    limiter = RateLimiter(per_second=2, clock=clock)
    assert [limiter.allow("k") for _ in range(3)] == [True, True, False]
    clock.now += 0.999
    assert not limiter.allow("k")
    clock.now += 0.001
    assert [limiter.allow("k") for _ in range(3)] == [True, True, False]
    assert limiter.suppressed == {"k": 3}
