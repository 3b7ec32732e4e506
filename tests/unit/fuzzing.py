"""Short and long versions of one hypothesis property, from a single check function.

    test_x, test_x_long = fuzz_pair(st.binary())(check_x)

The short one runs in every test run; the long one carries the ``fuzz`` marker
(``pytest -m fuzz``, ``make fuzz``) and runs ``OSCAR_FUZZ_EXAMPLES`` examples (default 20 000).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

SHORT = 300
LONG = int(os.environ.get("OSCAR_FUZZ_EXAMPLES", "20000"))


def fuzz_pair(*strategies, short: int = SHORT, long: int = LONG):
    def decorate(check):
        def build(examples):
            return settings(max_examples=examples, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])(
                given(*strategies)(check))

        return build(short), pytest.mark.fuzz(build(long))

    return decorate
