"""`oscar activity` options and the CSV both the CLI and the web export write."""

import argparse
import csv
import io
from datetime import datetime

import pytest

from oscar import cli, cli_history, events_csv

NOW = datetime(2026, 11, 26, 21, 0).timestamp()


def parse(*argv):
    return cli.build_parser().parse_args(["activity", *argv])


def test_options_become_the_registry_arguments():
    args = parse("--device", "proj1", "--kind", "sent", "--since", "20:30", "--until",
                 "2026-11-26 20:35", "--limit", "500")
    assert cli_history.filters(args, NOW) == {
        "device": "proj1", "kind": "sent",
        "since": datetime(2026, 11, 26, 20, 30).timestamp(),
        "until": datetime(2026, 11, 26, 20, 35).timestamp()}
    assert args.limit == 500


def test_relative_since_and_defaults():
    args = parse("--since", "10m")
    assert cli_history.filters(args, NOW) == {"device": "", "kind": "", "since": NOW - 600}
    assert parse().limit == 30 and not parse().csv and not parse().json


@pytest.mark.parametrize(("argv", "message"), [
    (["--since", "half past eight"], "--since: 'half past eight' is not a time"),
    (["--until", "25:00"], "--until: '25:00' is not a time"),
    (["--since", "20:40", "--until", "20:35"], "is before --since"),
    (["--limit", "0"], "--limit must be 1-20000"),
])
def test_bad_options_name_the_option(argv, message):
    with pytest.raises(ValueError) as caught:
        cli_history.filters(parse(*argv), NOW)
    assert message in str(caught.value)


def test_json_and_csv_exclude_each_other():
    with pytest.raises(SystemExit):
        parse("--json", "--csv")


class FakeClient:
    def __init__(self, events):
        self.events = events
        self.calls = []

    def call(self, op, **args):
        self.calls.append((op, args))
        return self.events


EVENTS = [  # newest first, as the registry answers
    {"at": NOW - 1, "source": "device", "device": "proj1", "event": "reply",
     "detail": 'said "hi", twice\r\nand more', "sender": "10.0.0.5:53000"},
    {"at": NOW - 2, "source": "listener", "device": "", "event": "rejected",
     "detail": "=HYPERLINK(\"http://x\")", "sender": "+10.0.0.6:1"},
]


def test_csv_is_rfc4180_in_time_order_and_formula_safe(capsys):
    client = FakeClient(EVENTS)
    assert cli_history.run(client, parse("--csv", "--device", "proj1")) == 0
    assert client.calls == [("activity", {"limit": 30, "device": "proj1", "kind": ""})]
    out = capsys.readouterr().out
    assert out.startswith("time,unix_time,device,source,event,detail,sender\r\n")
    assert '"said ""hi"", twice\r\nand more"' in out
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == list(events_csv.HEADER)
    assert [r[4] for r in rows[1:]] == ["rejected", "reply"]  # oldest first
    assert rows[2][5] == 'said "hi", twice\r\nand more'
    assert rows[1][5] == "'=HYPERLINK(\"http://x\")" and rows[1][6] == "'+10.0.0.6:1"
    assert rows[2][1] == f"{NOW - 1:.3f}"
    assert rows[2][0] == events_csv.local_time(NOW - 1)


def test_text_output_and_empty(capsys):
    assert cli_history.run(FakeClient(EVENTS), parse()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "proj1" in lines[0] and "reply" in lines[0]
    assert cli_history.run(FakeClient([]), parse("--kind", "reply")) == 0
    assert capsys.readouterr().out == "no events match\n"


def test_a_bad_time_exits_2_without_asking_the_registry(capsys):
    client = FakeClient([])
    assert cli_history.run(client, parse("--since", "soon")) == 2
    assert client.calls == []
    assert "oscar activity: --since: 'soon' is not a time" in capsys.readouterr().err


def test_clock_shows_the_date_for_other_days():
    assert cli_history.clock(NOW - 60, NOW) == "20:59:00.000"
    assert cli_history.clock(NOW - 86400, NOW) == "2026-11-25 21:00:00.000"


def test_namespace_without_cli():
    args = argparse.Namespace(device="", kind="", since="", until="", limit=1)
    assert cli_history.filters(args, NOW) == {"device": "", "kind": ""}
