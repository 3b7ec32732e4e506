import re

import pytest
from hypothesis import strategies as st

from oscar.osc_pattern import MAX_PATTERN, PatternError, compile_pattern, is_pattern
from tests.unit.fuzzing import fuzz_pair

NAMES = ["proj1", "proj2", "proj10", "projector", "router", "lx-1", "lx-2", "a", "b.c", "p_1"]


def matching(pattern):
    match = compile_pattern(pattern)
    return [name for name in NAMES if match(name)]


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("proj1", ["proj1"]),
        ("proj*", ["proj1", "proj2", "proj10", "projector"]),
        ("*", NAMES),
        ("**", NAMES),
        ("*1", ["proj1", "lx-1", "p_1"]),
        ("*o*", ["proj1", "proj2", "proj10", "projector", "router"]),
        ("proj?", ["proj1", "proj2"]),
        ("proj??", ["proj10"]),
        ("?", ["a"]),
        ("proj[12]", ["proj1", "proj2"]),
        ("proj[1-9]", ["proj1", "proj2"]),
        ("proj[!1]", ["proj2"]),
        ("proj[!1]*", ["proj2", "projector"]),
        ("lx[-]?", ["lx-1", "lx-2"]),  # '-' first in a set is itself
        ("lx[x-]?", ["lx-1", "lx-2"]),  # ... and last
        ("{proj1,router}", ["proj1", "router"]),
        ("{proj1,proj10}", ["proj1", "proj10"]),  # alternatives of different length
        ("proj{1,10}", ["proj1", "proj10"]),
        ("{proj,lx-}*", ["proj1", "proj2", "proj10", "projector", "lx-1", "lx-2"]),
        ("{a,}", ["a"]),  # an empty alternative matches nothing more
        ("b.c", ["b.c"]),  # '.' is literal, not "any character"
        ("b?c", ["b.c"]),
        ("p_[0-9]", ["p_1"]),
        ("nothing*", []),
        ("PROJ1", []),  # matching is case-sensitive, like names
    ],
)
def test_pattern_matches(pattern, names):
    assert matching(pattern) == names


@pytest.mark.parametrize(
    ("text", "expected"),
    [("proj1", False), ("b.c", False), ("proj*", True), ("p?", True), ("[ab]", True),
     ("{a,b}", True), ("a]", True), ("}", True)],
)
def test_is_pattern(text, expected):
    assert is_pattern(text) is expected


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("", "empty"),
        ("[abc", "not closed"),
        ("proj[", "not closed"),
        ("[!", "not closed"),
        ("[]", "not allowed"),
        ("[!]", "not allowed"),
        ("{a,b", "not closed"),
        ("a]", "without its opening"),
        ("a}", "without its opening"),
        ("{a,{b}}", "not allowed"),
        ("[c-a]", "bad range"),
        ("[a-%]", "bad range"),
        ("proj 1", "not allowed"),
        ("a/b", "not allowed"),
        ("caf\u00e9*", "not allowed"),
        ("*" * 10_000, f"longer than {MAX_PATTERN}"),
        ("a" * (MAX_PATTERN + 1), f"longer than {MAX_PATTERN}"),
    ],
)
def test_bad_patterns_are_refused(pattern, why):
    with pytest.raises(PatternError, match=re.escape(why)):
        compile_pattern(pattern)


def test_longest_pattern_allowed_still_matches():
    match = compile_pattern("*" * (MAX_PATTERN - 1) + "1")
    assert match("proj1") and not match("proj2")


def test_hostile_alternation_stays_bounded():
    # A pattern shaped to make a backtracking matcher explode: many stars and alternatives.
    pattern = "*a" * 60 + "{a,aa,aaa}" * 10
    assert len(pattern) <= MAX_PATTERN
    match = compile_pattern(pattern)
    assert match("a" * 70 + "b") is False
    assert match("a" * 64) is False  # needs 60 + at least 10 a's
    assert compile_pattern("*a" * 30)("a" * 64) is True


# ---- reference comparison and fuzzing -----------------------------------------------------------

NAME_CHARS = "abcp1-_."
NAME = st.text(NAME_CHARS, min_size=1, max_size=16)
PATTERN_PIECE = st.one_of(
    st.text(NAME_CHARS, min_size=1, max_size=3),
    st.just("*"),
    st.just("?"),
    st.builds(lambda neg, chars: "[" + ("!" if neg else "") + chars + "]", st.booleans(),
              st.text("abc1", min_size=1, max_size=3)),
    st.builds(lambda words: "{" + ",".join(words) + "}",
              st.lists(st.text(NAME_CHARS, min_size=1, max_size=3), min_size=1, max_size=3)),
)
VALID_PATTERN = st.lists(PATTERN_PIECE, min_size=1, max_size=6).map("".join)


def reference(pattern, name):
    """Slow obvious matcher: regex built from our own parse of a *known-valid* pattern."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out += ".*"
        elif char == "?":
            out += "."
        elif char == "[":
            close = pattern.index("]", i + 2)
            body = pattern[i + 1:close]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            out += "[" + ("^" if neg else "") + "".join(re.escape(c) for c in body) + "]"
            i = close
        elif char == "{":
            close = pattern.index("}", i)
            out += "(?:" + "|".join(re.escape(w) for w in pattern[i + 1:close].split(",")) + ")"
            i = close
        else:
            out += re.escape(char)
        i += 1
    return re.fullmatch(out, name, re.DOTALL) is not None


def check_against_reference(pattern, name):
    assert compile_pattern(pattern)(name) == reference(pattern, name)


def check_any_text(text):
    try:
        match = compile_pattern(text)
    except PatternError:
        return
    assert match("proj1") in (True, False)


test_fuzz_matches_reference, test_fuzz_matches_reference_long = fuzz_pair(
    VALID_PATTERN, NAME)(check_against_reference)
test_fuzz_any_text, test_fuzz_any_text_long = fuzz_pair(
    st.text(st.sampled_from("ab1*?[]{},!-^\\/. \x00\u00e9"), max_size=300))(check_any_text)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [  # the examples in docs/osc.md
        ("proj*", "proj", True), ("proj*", "proj1", True), ("proj*", "projector", True),
        ("proj?", "proj1", True), ("proj?", "proj10", False),
        ("proj[12]", "proj2", True), ("lx[1-4]", "lx3", True), ("lx[1-4]", "lx5", False),
        ("proj[!1]", "proj2", True), ("proj[!1]", "proj1", False),
        ("{proj1,router}", "router", True), ("{proj1,router}", "proj2", False),
        ("stage-*", "stage-left", True),
    ],
)
def test_documented_pattern_examples(pattern, name, matches):
    assert compile_pattern(pattern)(name) is matches
