import random

import pytest

from oscar.backoff import Backoff


def delays(backoff, count):
    return [backoff.next_delay() for _ in range(count)]


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize(("minimum", "maximum"), [(0.5, 10.0), (0.05, 0.05), (1.0, 3600.0)])
def test_delays_stay_within_min_and_max(seed, minimum, maximum):
    backoff = Backoff(minimum, maximum, random.Random(seed))
    assert all(minimum <= d <= maximum for d in delays(backoff, 40))


@pytest.mark.parametrize("seed", range(20))
def test_delay_doubles_from_min_to_max_within_25_percent(seed):
    backoff = Backoff(0.5, 10.0, random.Random(seed))
    bases = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    for base, delay in zip(bases, delays(backoff, len(bases)), strict=True):
        assert max(0.5, base * 0.75) <= delay <= min(10.0, base * 1.25)


def test_reset_starts_again_from_min():
    backoff = Backoff(0.5, 10.0, random.Random(1))
    delays(backoff, 10)
    backoff.reset()
    assert backoff.attempts == 0
    assert 0.5 <= backoff.next_delay() <= 0.625


def test_many_attempts_do_not_overflow():
    backoff = Backoff(0.5, 10.0, random.Random(2))
    backoff.attempts = 10_000
    assert 7.5 <= backoff.next_delay() <= 10.0


def test_jitter_spreads_devices_that_dropped_together():
    fourth = []
    for seed in range(50):
        backoff = Backoff(0.5, 10.0, random.Random(seed))
        fourth.append(delays(backoff, 4)[-1])  # base 4.0
    assert min(fourth) < 3.5 and max(fourth) > 4.5
    assert len(set(fourth)) == len(fourth)


def test_same_seed_gives_the_same_delays():
    first = delays(Backoff(0.5, 10.0, random.Random(7)), 8)
    assert delays(Backoff(0.5, 10.0, random.Random(7)), 8) == first
