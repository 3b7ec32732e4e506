"""Hostile filter and target input: the web's activity filters and the feedback target list
raise only their documented errors (property-based; long runs behind -m fuzz)."""

from hypothesis import strategies as st

from oscar.feedback_config import TargetsInvalid, normalise
from oscar.web import activity
from tests.unit.fuzzing import fuzz_pair

TEXT = st.text(max_size=300)
PARAMS = st.dictionaries(st.sampled_from(["device", "kind", "since", "until", "limit", "x"]),
                         TEXT, max_size=6)


def check_activity_params(params):
    found = activity.read(params, now=1_795_000_000.0)
    assert set(found.errors) <= {"since", "until"}
    for name in ("since", "until"):
        if name in found.args:
            assert isinstance(found.args[name], float)
    assert all(len(v) <= activity.MAX_FILTER_TEXT for v in found.values.values())
    try:
        limit = activity.read_limit(params)
    except ValueError:
        return
    assert 1 <= limit <= activity.MAX_LIMIT


def check_targets(value):
    try:
        targets = normalise(value)
    except TargetsInvalid as exc:
        assert str(exc)
        return
    assert all(t.startswith(("udp://", "tcp://")) for t in targets)
    assert normalise(targets) == targets  # canonical texts stay as they are


TARGETS = st.one_of(
    TEXT,
    st.lists(st.one_of(TEXT, st.integers(), st.none(),
                       st.builds(lambda h, p: f"udp://{h}:{p}", TEXT, st.integers())),
             max_size=40),
    st.dictionaries(TEXT, TEXT, max_size=3),
)
test_fuzz_activity_params, test_fuzz_activity_params_long = fuzz_pair(PARAMS)(
    check_activity_params)
test_fuzz_targets, test_fuzz_targets_long = fuzz_pair(TARGETS)(check_targets)
