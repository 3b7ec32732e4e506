"""`oscar feedback list|set|add|remove` against a stand-in registry that keeps the list."""

import pytest

from oscar import cli, cli_feedback
from oscar.feedback_config import TargetsInvalid, normalise


class Registry:
    def __init__(self, targets=(), source="setting"):
        self.state = {"targets": list(targets), "source": source}
        self.sets = []

    def call(self, op, **args):
        if op == "feedback_get":
            return dict(self.state, targets=list(self.state["targets"]))
        assert op == "feedback_set"
        self.sets.append(args["targets"])
        self.state = {"targets": normalise(args["targets"]), "source": "store"}
        return self.call("feedback_get")


def run(registry, *argv):
    return cli_feedback.run(registry, cli.build_parser().parse_args(["feedback", *argv]))


def test_list_is_the_default(capsys):
    assert run(Registry(["udp://127.0.0.1:9000"])) == 0
    out = capsys.readouterr().out
    assert "from the feedback setting" in out and "  udp://127.0.0.1:9000" in out


def test_set_add_remove(capsys):
    registry = Registry(["udp://127.0.0.1:9000"])
    assert run(registry, "add", "TCP://LOCALHOST:9100") == 0
    assert registry.state["targets"] == ["udp://127.0.0.1:9000", "tcp://localhost:9100"]
    assert run(registry, "add", "tcp://localhost:9100") == 0  # already there: no change
    assert len(registry.sets) == 1
    assert run(registry, "remove", "udp://127.0.0.1:9000") == 0
    assert registry.state == {"targets": ["tcp://localhost:9100"], "source": "store"}
    assert run(registry, "remove", "udp://127.0.0.1:9000") == 4
    assert "is not a feedback target" in capsys.readouterr().err
    assert run(registry, "set") == 0
    assert registry.state["targets"] == []
    assert "no feedback targets (set by an operator)" in capsys.readouterr().out


def test_a_bad_target_to_add_is_refused_before_asking(capsys):
    registry = Registry()
    assert run(registry, "add", "http://x:1") == 2
    assert registry.sets == []
    assert "scheme must be udp or tcp" in capsys.readouterr().err


def test_list_json(capsys):
    assert run(Registry(["udp://127.0.0.1:9000"]), "list", "--json") == 0
    assert '"source": "setting"' in capsys.readouterr().out


@pytest.mark.parametrize("value", ["udp://a:1, tcp://b:2", ["udp://a:1", "tcp://b:2"]])
def test_normalise_takes_a_list_or_a_comma_text(value):
    assert normalise(value) == ["udp://a:1", "tcp://b:2"]


def test_normalise_names_every_bad_entry():
    with pytest.raises(TargetsInvalid) as caught:
        normalise(["udp://a:1", "udp://b", "ftp://c:1"])
    assert sorted(caught.value.fields) == ["targets[1]", "targets[2]"]
    assert "(and 1 more)" in str(caught.value)
