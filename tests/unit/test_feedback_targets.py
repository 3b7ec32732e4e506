import pytest
from hypothesis import strategies as st

from oscar import settings as settings_mod
from oscar.feedback_targets import MAX_TARGETS, Target, parse_target, parse_targets
from tests.unit.fuzzing import fuzz_pair


@pytest.mark.parametrize(("text", "expected"), [
    ("udp://127.0.0.1:53000", Target("udp", "127.0.0.1", 53000)),
    ("  tcp://qlab.local:53000 ", Target("tcp", "qlab.local", 53000)),
    ("UDP://Show-Mac.LOCAL:9000", Target("udp", "show-mac.local", 9000)),
    ("tcp://[::1]:12321", Target("tcp", "::1", 12321)),
    ("udp://[2001:DB8::1]:1", Target("udp", "2001:db8::1", 1)),
    ("udp://localhost:65535", Target("udp", "localhost", 65535)),
])
def test_valid_targets(text, expected):
    target = parse_target(text)
    assert target == expected
    assert parse_target(str(target)) == target  # str() is the canonical text


@pytest.mark.parametrize(("text", "says"), [
    ("", "empty"),
    ("   ", "empty"),
    ("127.0.0.1:9000", "must look like udp://HOST:PORT"),
    ("http://h:80", "scheme must be udp or tcp"),
    ("osc.udp://h:80", "scheme must be udp or tcp"),
    ("udp://h", "has no port"),
    ("udp://:9000", "has no host"),
    ("udp://h:0", "port 0 is not 1-65535"),
    ("udp://h:65536", "port 65536 is not 1-65535"),
    ("udp://h:-1", "is not a number"),
    ("udp://h:9x", "is not a number"),
    ("udp://h:\u0661\u0662", "is not a number"),  # Arabic-Indic digits: isdigit() but not ASCII
    ("udp://h:9000/path", "only HOST:PORT"),
    ("udp://user@h:9000", "only HOST:PORT"),
    ("udp://::1:9000", "IPv6 addresses in brackets"),
    ("udp://[::1:9000", "missing ']'"),
    ("udp://[::1]9000", "has no port"),
    ("udp://[host]:9000", "brackets are for IPv6"),
    ("udp://[:::]:9000", "is not an IPv6 address"),
    ("udp://bad_host!:9000", "is not a host name"),
    ("udp://a..b:9000", "is not a host name"),
    ("udp://-a:9000", "is not a host name"),
    ("udp://" + "a" * 300 + ":1", "longer than 300"),
])
def test_invalid_targets_say_what_is_wrong(text, says):
    with pytest.raises(ValueError) as caught:
        parse_target(text)
    assert says in str(caught.value)
    assert len(str(caught.value)) < 300


def test_not_a_text():
    with pytest.raises(ValueError, match="must be text"):
        parse_target(9000)  # type: ignore[arg-type]


def test_parse_targets_from_text_or_list():
    assert parse_targets("") == [] and parse_targets([]) == [] and parse_targets(" , ") == []
    assert parse_targets("udp://a:1, tcp://b:2,udp://a:1") == [
        Target("udp", "a", 1), Target("tcp", "b", 2)]  # duplicates removed, order kept
    assert parse_targets(["udp://a:1"]) == [Target("udp", "a", 1)]
    with pytest.raises(ValueError, match="at most 32"):
        parse_targets([f"udp://a:{port}" for port in range(1, MAX_TARGETS + 2)])
    with pytest.raises(ValueError, match="must be texts"):
        parse_targets(["udp://a:1", 5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="text or a list"):
        parse_targets(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scheme"):
        parse_targets("udp://a:1,ftp://b:2")


def test_setting_feedback_from_env_and_toml(tmp_path):
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path),
                                "OSCAR_FEEDBACK": "udp://10.0.0.9:53000"})
    assert loaded.feedback == "udp://10.0.0.9:53000"
    with pytest.raises(settings_mod.SettingsError, match=r"feedback \(OSCAR_FEEDBACK\).*port"):
        settings_mod.load({"OSCAR_HOME": str(tmp_path), "OSCAR_FEEDBACK": "udp://h"})
    (tmp_path / "oscar.toml").write_text('feedback = ["udp://a:1", "tcp://b:2"]\n')
    assert settings_mod.load({"OSCAR_HOME": str(tmp_path)}).feedback == "udp://a:1,tcp://b:2"


TARGET_LIKE = st.builds(
    lambda scheme, host, port: f"{scheme}://{host}:{port}",
    st.sampled_from(["udp", "tcp", "UDP", "x", ""]),
    st.text(max_size=30) | st.sampled_from(["[::1]", "[", "]", "a.b", "1.2.3.4", "[a]"]),
    st.integers(-10, 70000).map(str) | st.text(max_size=6))


def check_parse_target(text):
    try:
        target = parse_target(text)
    except ValueError:
        return
    assert target.scheme in ("udp", "tcp") and 1 <= target.port <= 65535 and target.host
    assert parse_target(str(target)) == target


def check_parse_targets(text):
    try:
        parse_targets(text)
    except ValueError:
        pass


test_parse_target_fuzz, test_parse_target_fuzz_long = fuzz_pair(
    st.text(max_size=80) | TARGET_LIKE)(check_parse_target)
test_parse_targets_fuzz, test_parse_targets_fuzz_long = fuzz_pair(
    st.text(max_size=120) | st.lists(TARGET_LIKE, max_size=40).map(",".join))(check_parse_targets)
