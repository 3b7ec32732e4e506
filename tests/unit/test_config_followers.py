"""Both followers of the registry's config (the listener's Forwarder, an actor's
ConfigFollower) take a replaced store's config, and never an older one from the same store."""

from oscar.actor_status import StatusBoard
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
        self.board = StatusBoard(self.name, emit=lambda message: None, clock=lambda: 0.0)

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


# ---- the beacon: a follower behind it reads what it missed from the desired-state file ------

def test_a_forwarder_behind_the_beacon_reads_the_file_and_one_up_to_date_does_not(tmp_path):
    from oscar import desired_state
    from oscar.messages import ConfigBeacon
    from oscar.models import from_dict

    fw = forwarder(tmp_path)
    fw.apply(ConfigSnapshot([record("a")], 5, "s1"))
    path = fw.settings.desired_state_path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Revision 6 was published while this follower was not listening (a slow joiner).
    desired_state.write(path, [from_dict(record("a")), from_dict(record("b"))], 6, "s1")
    fw.apply(ConfigBeacon(5, "s1"))  # nothing newer: the file is not even read
    assert sorted(fw.devices) == ["a"]
    fw.apply(ConfigBeacon(6, "s1"))
    assert sorted(fw.devices) == ["a", "b"] and fw.revision == 6
    fw.apply(ConfigBeacon(7, "s1"))  # the file is not there yet: wait for it
    assert fw.revision == 6
    path.write_bytes(b"not msgpack")
    fw.apply(ConfigBeacon(8, "s1"))  # an unreadable file changes nothing
    assert sorted(fw.devices) == ["a", "b"] and fw.revision == 6


def test_a_beacon_from_a_replaced_store_brings_the_replacement_in(tmp_path):
    from oscar import desired_state
    from oscar.messages import ConfigBeacon
    from oscar.models import from_dict

    fw = forwarder(tmp_path)
    fw.apply(ConfigSnapshot([record("a")], 40, "old"))
    path = fw.settings.desired_state_path
    path.parent.mkdir(parents=True, exist_ok=True)
    desired_state.write(path, [from_dict(record("z"))], 2, "fresh")
    fw.apply(ConfigBeacon(2, "fresh"))
    assert sorted(fw.devices) == ["z"] and fw.revision == 2


def test_an_actor_behind_the_beacon_takes_its_device_from_the_file(tmp_path):
    from oscar import desired_state
    from oscar.messages import ConfigBeacon
    from oscar.models import from_dict

    path = tmp_path / "desired-state.msgpack"
    actor = FakeActor()
    follower = ConfigFollower(actor, path)
    follower.apply(ConfigSnapshot([record("proj", 1)], 3, "s1"))
    desired_state.write(path, [from_dict(record("proj", 2))], 4, "s1")
    follower.apply(ConfigBeacon(3, "s1"))  # up to date: nothing read, nothing configured
    follower.apply(ConfigBeacon(4, "s1"))  # missed revision 4: taken from the file
    desired_state.write(path, [], 5, "s1")
    follower.apply(ConfigBeacon(5, "s1"))  # removed meanwhile
    assert actor.configured == [1, 2, None]


def test_an_actor_reads_only_its_own_device_from_the_file(tmp_path):
    from oscar import desired_state
    from oscar.models import from_dict

    path = tmp_path / "desired-state.msgpack"
    desired_state.write(path, [from_dict(record(f"d{i}", 1000 + i)) for i in range(5)], 7, "s1")
    devices, revision = desired_state.read(path, only="d3")
    assert list(devices) == ["d3"] and devices["d3"].port == 1003 and revision == 7
    assert sorted(desired_state.read(path)[0]) == ["d0", "d1", "d2", "d3", "d4"]
