"""The registry's activity and feedback operations, against a real store and history file."""

import json

import pytest

from oscar.feedback_config import FROM_SETTING, FROM_STORE
from oscar.history import History
from oscar.messages import Event, FeedbackTargets, Request
from oscar.registry_service import RegistryService
from oscar.store import Store

T0 = 1_795_000_000.0


class FakeSettings:
    feedback = "udp://127.0.0.1:9000"


@pytest.fixture
def parts(tmp_path):
    store = Store(tmp_path / "oscar.sqlite3")
    history = History(tmp_path / "history.sqlite")
    published = []
    service = RegistryService(settings=FakeSettings(), store=store, publish=published.append,
                              table=None, programs=None, reconciler=None, history=history)
    yield service, published, store, history
    history.close()
    store.close()


def call(service, op, **args):
    return service.handle(Request(op=op, args=args))


def test_activity_filters_reach_the_history(parts):
    service, _, _, history = parts
    for i in range(5):
        history.append(Event("device", "sent", f"c{i}", device="proj1", at=T0 + i))
        history.append(Event("device", "reply", f"r{i}", device="sw", at=T0 + i))
    reply = call(service, "activity", device="sw", since=T0 + 1, until=T0 + 3)
    assert reply.ok and [e["detail"] for e in reply.result] == ["r3", "r2", "r1"]
    reply = call(service, "activity", kind="sent", limit=2)
    assert [e["detail"] for e in reply.result] == ["c4", "c3"]
    assert len(call(service, "activity").result) == 10


@pytest.mark.parametrize(("args", "field"), [
    ({"since": "20:30"}, "since"),
    ({"until": -1}, "until"),
    ({"since": float("nan")}, "since"),
    ({"since": True}, "since"),
    ({"limit": 0}, "limit"),
    ({"limit": "10"}, "limit"),
    ({"device": 7}, "device"),
    ({"kind": "x" * 300}, "kind"),
    ({"since": T0 + 10, "until": T0}, "until"),
])
def test_bad_activity_arguments_are_refused_by_field(parts, args, field):
    reply = call(parts[0], "activity", **args)
    assert not reply.ok and reply.code == "invalid" and field in reply.fields


def test_unknown_activity_argument_is_a_bad_request(parts):
    reply = call(parts[0], "activity", colour="red")
    assert not reply.ok and reply.code == "bad_request"


def test_configuration_changes_are_in_the_history(parts):
    service, _, _, _ = parts
    service._changed = lambda name, device: None  # no desired-state file or programs here
    call(service, "add", device={"name": "proj1", "host": "10.0.0.9", "port": 4352})
    call(service, "update", name="proj1", changes={"ttl": 5})
    call(service, "remove", name="proj1")
    details = [(e["event"], e["detail"]) for e in call(service, "activity",
                                                       device="proj1").result]
    assert details == [("config", "removed"), ("config", "changed: ttl"),
                       ("config", "added (10.0.0.9:4352)")]


def test_feedback_is_seeded_from_the_setting_then_set_by_the_operator(parts):
    service, published, store, _ = parts
    service.load_feedback()
    assert call(service, "feedback_get").result == {"targets": ["udp://127.0.0.1:9000"],
                                                   "source": FROM_SETTING}
    assert json.loads(store.system_setting("feedback"))["source"] == FROM_SETTING
    reply = call(service, "feedback_set", targets=["tcp://LOCALHOST:9100", "udp://[::1]:9001",
                                                   "tcp://localhost:9100"])
    assert reply.ok, reply.error
    assert reply.result == {"targets": ["tcp://localhost:9100", "udp://[::1]:9001"],
                            "source": FROM_STORE}
    assert published == [FeedbackTargets(["tcp://localhost:9100", "udp://[::1]:9001"])]
    # unchanged: not published again
    call(service, "feedback_set", targets=["tcp://localhost:9100", "udp://[::1]:9001"])
    assert len(published) == 1
    # a registry restart with another setting: the operator's list wins
    service.settings.feedback = "udp://10.0.0.1:1"
    service.load_feedback()
    assert call(service, "feedback_get").result["targets"] == ["tcp://localhost:9100",
                                                              "udp://[::1]:9001"]
    assert service.feedback_message() == FeedbackTargets(["tcp://localhost:9100",
                                                          "udp://[::1]:9001"])
    events = call(service, "activity", kind="config").result
    assert events[0]["detail"] == "feedback targets: tcp://localhost:9100, udp://[::1]:9001"


def test_a_seeded_list_follows_a_changed_setting(parts):
    service, _, _, _ = parts
    service.load_feedback()
    service.settings.feedback = "udp://10.0.0.1:1,tcp://10.0.0.2:2"
    service.load_feedback()
    assert call(service, "feedback_get").result == {
        "targets": ["udp://10.0.0.1:1", "tcp://10.0.0.2:2"], "source": FROM_SETTING}


@pytest.mark.parametrize(("targets", "fields"), [
    (["udp://127.0.0.1:9000", "http://x:1"], ["targets[1]"]),
    (["udp://h"], ["targets[0]"]),
    (["tcp://h:0", "udp://h:70000"], ["targets[0]", "targets[1]"]),
    ([7], ["targets[0]"]),
])
def test_bad_targets_are_refused_naming_each_and_nothing_changes(parts, targets, fields):
    service, published, _, _ = parts
    service.load_feedback()
    reply = call(service, "feedback_set", targets=targets)
    assert not reply.ok and reply.code == "invalid"
    assert sorted(reply.fields) == fields
    assert all(reply.fields.values())
    assert call(service, "feedback_get").result["targets"] == ["udp://127.0.0.1:9000"]
    assert published == []


def test_feedback_set_refuses_a_non_list_and_too_many(parts):
    service, _, _, _ = parts
    assert call(service, "feedback_set", targets={"a": 1}).code == "invalid"
    many = [f"udp://127.0.0.1:{9000 + i}" for i in range(33)]
    reply = call(service, "feedback_set", targets=many)
    assert reply.code == "invalid" and "at most 32" in reply.error


def test_feedback_set_empty_turns_feedback_off(parts):
    service, published, _, _ = parts
    service.load_feedback()
    assert call(service, "feedback_set", targets=[]).result == {"targets": [],
                                                               "source": FROM_STORE}
    assert published == [FeedbackTargets([])]
