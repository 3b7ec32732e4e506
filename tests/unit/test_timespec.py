"""The times an operator types for `oscar activity --since/--until` and the Activity filters."""

from datetime import datetime, timezone

import pytest
from hypothesis import strategies as st

from oscar import timespec
from tests.unit.fuzzing import fuzz_pair

# 2026-11-26 21:00:00 local time, whatever this machine's zone
NOW = datetime(2026, 11, 26, 21, 0, 0).timestamp()


def local(*parts: int) -> float:
    return datetime(*parts).timestamp()


@pytest.mark.parametrize(("text", "expected"), [
    ("20:30", local(2026, 11, 26, 20, 30)),
    (" 20:30 ", local(2026, 11, 26, 20, 30)),
    ("7:05", local(2026, 11, 26, 7, 5)),
    ("20:30:15", local(2026, 11, 26, 20, 30, 15)),
    ("23:59:59.5", local(2026, 11, 26, 23, 59, 59) + 0.5),
    ("2026-11-26 20:30", local(2026, 11, 26, 20, 30)),
    ("2026-11-25 20:30:10", local(2026, 11, 25, 20, 30, 10)),
    ("2026-11-26", local(2026, 11, 26)),
    ("2026-11-26T20:30:00", local(2026, 11, 26, 20, 30)),
    ("2026-11-26T19:30:00Z",
     datetime(2026, 11, 26, 19, 30, tzinfo=timezone.utc).timestamp()),
    ("2026-11-26T20:30:00.250+01:00",
     datetime(2026, 11, 26, 19, 30, tzinfo=timezone.utc).timestamp() + 0.25),
    ("10m", NOW - 600),
    ("10min", NOW - 600),
    ("2h", NOW - 7200),
    ("2H", NOW - 7200),
    ("90s", NOW - 90),
    ("1d", NOW - 86400),
    ("1.5h", NOW - 5400),
    ("1795000000", 1795000000.0),
    ("1795000000.25", 1795000000.25),
])
def test_accepted_forms(text, expected):
    assert timespec.parse(text, NOW) == pytest.approx(expected, abs=1e-6)


def test_a_clock_time_is_today_in_local_time():
    morning = local(2026, 11, 27, 0, 30)
    assert timespec.parse("20:30", morning) == local(2026, 11, 27, 20, 30)


@pytest.mark.parametrize("text", [
    "", "   ", "abc", "25:00", "20:61", "2026", "30", "2026-13-01", "2026-11-31 10:00",
    "10x", "-10m", "1e9", "nan", "inf", "9999999999999", "2026-11-26 20:30 later",
    "yesterday", "20:30pm", "x" * 1000, "１０m",
])
def test_refused_forms_raise_value_error_naming_the_accepted_ones(text):
    with pytest.raises(ValueError) as caught:
        timespec.parse(text, NOW)
    assert "20:30" in str(caught.value) and "10m" in str(caught.value)
    assert len(str(caught.value)) < 200


def test_non_text_is_a_value_error():
    with pytest.raises(ValueError):
        timespec.parse(None, NOW)  # type: ignore[arg-type]


def test_describe_is_local_time():
    assert timespec.describe(local(2026, 11, 26, 20, 30, 5)) == "2026-11-26 20:30:05"


def check_only_value_error(text):
    try:
        result = timespec.parse(text, NOW)
    except ValueError:
        return
    assert isinstance(result, float) and result == result and abs(result) < 1e12


TIMEISH = st.text(alphabet="0123456789:-. TZ+smhd", max_size=40)
test_fuzz_text, test_fuzz_text_long = fuzz_pair(st.text(max_size=80))(check_only_value_error)
test_fuzz_timeish, test_fuzz_timeish_long = fuzz_pair(TIMEISH)(check_only_value_error)
