"""Both followers of the registry's config (the listener's Forwarder, an actor's
ConfigFollower) take a replaced store's config, and never an older one from the same store."""

from oscar.forwarder import Forwarder
from oscar.messages import ConfigSnapshot, DeviceConfig
from oscar.models import validate
from oscar.processes.device_actor import ConfigFollower
from oscar.settings import load


def record(name, port=9999):
    return validate({"name": name, "host": "127.0.0.1", "port": port}).to_dict()


def forwarder(tmp_path):
    # No sockets are made until a cue is routed: None stands in for the context and events.
    return Forwarder(None, load({"OSCAR_HOME": str(tmp_path)}), None)


def test_forwarder_ignores_older_config_from_the_same_store(tmp_path):
    fw = forwarder(tmp_path)
    fw.apply(ConfigSnapshot([record("a"), record("b")], 5, "s1"))
    fw.apply(DeviceConfig("c", record("c"), 4, "s1"))
    fw.apply(ConfigSnapshot([record("a")], 3, "s1"))
    assert sorted(fw.devices) == ["a", "b"] and fw.revision == 5


def test_forwarder_follows_a_replaced_store_with_lower_revisions(tmp_path):
    fw = forwarder(tmp_path)
    fw.set_devices({}, 40)  # what the desired-state file said at start
    fw.apply(ConfigSnapshot([record("a")], 40, "old"))  # same revision: nothing new
    fw.apply(DeviceConfig("a", record("a"), 41, "old"))
    assert sorted(fw.devices) == ["a"]
    fw.apply(DeviceConfig("new", record("new"), 2, "fresh"))  # waits for the whole snapshot
    assert "new" not in fw.devices
    fw.apply(ConfigSnapshot([record("b")], 2, "fresh"))
    fw.apply(DeviceConfig("new", record("new"), 3, "fresh"))
    assert sorted(fw.devices) == ["b", "new"] and fw.revision == 3


class FakeActor:
    name = "proj"

    def __init__(self):
        self.configured = []

    def configure(self, device):
        self.configured.append(device.port if device else None)


def test_actor_follower_takes_a_replaced_store_and_skips_repeats():
    actor = FakeActor()
    follower = ConfigFollower(actor)
    follower.revision = 10  # from the desired-state file
    follower.apply(ConfigSnapshot([record("proj", 1)], 10, "s1"))  # a repeat
    follower.apply(DeviceConfig("proj", record("proj", 2), 11, "s1"))
    follower.apply(DeviceConfig("proj", record("proj", 3), 9, "s1"))  # older
    follower.apply(DeviceConfig("other", record("other", 4), 12, "s1"))  # not ours
    follower.apply(ConfigSnapshot([record("proj", 5)], 1, "s2"))  # replaced store
    follower.apply(ConfigSnapshot([], 2, "s2"))  # removed there
    assert actor.configured == [2, 5, None]
    assert follower.revision == 2
