"""Feedback without sockets: which OSC messages are built, and where they go."""

import pytest
from hypothesis import strategies as st

from oscar import escapes, feedback
from oscar.feedback import Feedback, reply_argument
from oscar.feedback_targets import Target
from oscar.messages import ActorStatus, Event, FeedbackTargets
from oscar.models import Device
from oscar.osc_decode import decode_packet
from tests.unit.fuzzing import fuzz_pair


def parsed(packet: bytes) -> tuple[str, list]:
    (message,) = decode_packet(packet)
    return message.address, [value for _, value in message.args]


class FakeLinks:
    """Stands in for oscar.feedback_links.Links: records what every target would get."""

    def __init__(self):
        self.sent: list[bytes] = []
        self.targets: list[Target] = []
        self.on_ready_target = None
        self.ticks = 0

    def set_targets(self, targets):
        self.targets = list(targets)

    def send(self, packet):
        self.sent.append(packet)

    def tick(self):
        self.ticks += 1

    def close(self):
        pass


class FakeClients:
    def __init__(self, known=("127.0.0.1:5000",)):
        self.known = set(known)
        self.to: dict[str, list[bytes]] = {}
        self.all: list[bytes] = []

    def send_to(self, sender, packet):
        if sender not in self.known:
            return False
        self.to.setdefault(sender, []).append(packet)
        return True

    def send_all(self, packet):
        self.all.append(packet)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def fb():
    clock = Clock()
    links, clients, counters = FakeLinks(), FakeClients(), {}
    made = Feedback(links, clients, counters, initial_targets="udp://127.0.0.1:9000",
                    clock=clock)
    made.clock_ = clock
    made.set_devices({"proj": Device(name="proj", host="h", port=1),
                      "off": Device(name="off", host="h", port=2, enabled=False)})
    return made


def status(name="proj", state="ready", **fields):
    return ActorStatus(device=name, state=state, since=1.0, pid=7, **fields)


def sent(fb) -> list[tuple[str, list]]:
    return [parsed(p) for p in fb.links.sent]


# ---- message building ----------------------------------------------------------------------

@pytest.mark.parametrize(("detail", "expected"), [
    ("%1POWR=1", ("s", "%1POWR=1")),
    ("caf\u00e9 ok", ("s", "caf\u00e9 ok")),
    ("\\x02PON\\x03", ("b", b"\x02PON\x03")),  # the actor escaped bytes: they go as a blob
    ("\\xff\\xfe", ("b", b"\xff\xfe")),
    ("A\\tB", ("b", b"A\tB")),  # a tab inside a line is not printable: the bytes
    ("C:\\x41", ("s", "C:\\x41")),  # printable text with a backslash the device sent
    ("a\\\\b", ("s", "a\\\\b")),
    ("bad \\q escape", ("s", "bad \\q escape")),
    ("cut \\x4", ("s", "cut \\x4")),  # an escape cut by the 256-character cap
])
def test_reply_argument(detail, expected):
    assert reply_argument(detail) == expected


def test_messages_and_their_addresses():
    assert parsed(feedback.reply_message("proj", "%1POWR=1")) == (
        "/oscar/device/proj/reply", ["%1POWR=1"])
    assert parsed(feedback.reply_message("sw", "\\x00\\x01")) == ("/oscar/device/sw/reply",
                                                                   [b"\x00\x01"])
    assert parsed(feedback.state_message("proj", "ready")) == ("/oscar/device/proj/state",
                                                               ["ready"])
    assert parsed(feedback.device_error_message("p", "x" * 5000))[1][0].endswith("\u2026")
    assert len(feedback.device_error_message("p", "x" * 5000)) < 1100
    assert parsed(feedback.error_message("unknown_device: 'q'")) == (
        "/oscar/error", ["unknown_device: 'q'"])


def test_status_and_check_messages():
    full = status(sent=5, dropped=1, queued=2, in_flight=1, replies=3, last_reply="OK",
                  last_error="refused")
    assert parsed(feedback.status_message("proj", "ready", full)) == (
        "/oscar/device/proj/status", ["ready", 5, 1, 3, 3, "OK", "refused"])
    assert parsed(feedback.status_message("proj", "not_running", None)) == (
        "/oscar/device/proj/status", ["not_running", 0, 0, 0, 0, "", ""])
    big = decode_packet(feedback.status_message("p", "ready", status(sent=2**40)))[0]
    assert big.args[1] == ("h", 2**40)
    assert parsed(feedback.check_message([("a", "ready"), ("b", "idle"), ("c", "disabled")])) \
        == ("/oscar/check", ["ok"])
    assert parsed(feedback.check_message([])) == ("/oscar/check", ["ok"])
    assert parsed(feedback.check_message([("a", "ready"), ("b", "waiting"),
                                          ("c", "not_running")])) == (
        "/oscar/check", ["not_ready", "b waiting, c not_running"])


def check_reply_message(text):
    address, args = parsed(feedback.reply_message("d", text))
    assert address == "/oscar/device/d/reply"
    value = args[0]
    if isinstance(value, bytes):  # a blob carries the bytes the actor escaped
        assert escapes.encode(value) == escapes.encode(escapes.decode(text))
    else:
        assert value == feedback._clip(text)


def test_texts_no_osc_string_can_hold_are_escaped():
    # found by the fuzz test: NUL ended the OSC string builder with ValueError
    assert parsed(feedback.reply_message("d", "\x00")) == ("/oscar/device/d/reply", ["\\0"])
    assert parsed(feedback.error_message("a\x00b")) == ("/oscar/error", ["a\\0b"])
    assert parsed(feedback.error_message("\ud800")) == ("/oscar/error", ["\\ud800"])


test_reply_message_fuzz, test_reply_message_fuzz_long = fuzz_pair(
    st.text(max_size=300) | st.binary(max_size=100).map(escapes.encode))(check_reply_message)


# ---- routing -------------------------------------------------------------------------------

def test_states_go_to_targets_and_tcp_clients_once_per_change(fb):
    # A disabled device is known at once; an enabled one only from its actor's status.
    assert sent(fb) == [("/oscar/device/off/state", ["disabled"])]
    fb.links.sent.clear()
    fb.clients.all.clear()
    fb.on_message(status(state="connecting"))
    fb.on_message(status(state="connecting"))  # a heartbeat: no change, nothing sent
    fb.on_message(status(state="ready"))
    expected = [("/oscar/device/proj/state", ["connecting"]), ("/oscar/device/proj/state",
                                                               ["ready"])]
    assert sent(fb) == expected
    assert [parsed(p) for p in fb.clients.all] == expected


def test_a_silent_actor_is_not_running_only_while_the_registry_talks(fb):
    fb.on_message(status(state="ready"))
    fb.links.sent.clear()
    clock = fb.clock_
    # the registry goes quiet too: nothing new is known, nothing is claimed
    clock.now += feedback.STALE + 1
    fb.tick()
    assert sent(fb) == []
    # the registry talks again (snapshots) but the actor stays silent: not_running, after a
    # grace period for statuses to arrive
    fb.feed_seen()
    fb.tick()
    assert sent(fb) == []
    clock.now += feedback.GRACE
    fb.feed_seen()
    fb.tick()
    assert sent(fb) == [("/oscar/device/proj/state", ["not_running"])]
    assert fb.state_of("proj") == "not_running"
    fb.on_message(status(state="actor not running"))  # as the registry may word it
    assert fb.state_of("proj") == "not_running"


def test_enabled_device_never_heard_of_becomes_not_running(fb):
    clock = fb.clock_
    fb.links.sent.clear()
    for _ in range(int(feedback.STALE) + 2):
        clock.now += 1
        fb.feed_seen()
        fb.tick()
    assert sent(fb) == [("/oscar/device/proj/state", ["not_running"])]


def test_full_state_set_for_a_new_target_and_a_new_tcp_client(fb):
    fb.on_message(status(state="ready"))

    class Target:
        def __init__(self):
            self.got = []

        def send(self, packet):
            self.got.append(parsed(packet))

    target = Target()
    fb._target_ready(target)  # what Links calls when a target becomes reachable
    assert target.got == [("/oscar/device/off/state", ["disabled"]),
                          ("/oscar/device/proj/state", ["ready"])]
    fb.client_ready("127.0.0.1:5000")
    assert [parsed(p) for p in fb.clients.to["127.0.0.1:5000"]] == target.got


def test_replies_go_to_targets_and_to_the_tcp_client_that_sent_the_cue(fb):
    fb.on_message(Event("device", "reply", "%1POWR=1", device="proj", sender="127.0.0.1:5000"))
    fb.on_message(Event("device", "reply", "OK", device="proj", sender="10.0.0.1:53000"))
    assert sent(fb)[-2:] == [("/oscar/device/proj/reply", ["%1POWR=1"]),
                             ("/oscar/device/proj/reply", ["OK"])]
    assert [parsed(p) for p in fb.clients.to["127.0.0.1:5000"]] == [
        ("/oscar/device/proj/reply", ["%1POWR=1"])]  # a UDP sender is not a TCP client


def test_errors_name_the_device_when_it_is_known(fb):
    fb.links.sent.clear()
    fb.local_event(Event("listener", "rejected", "unknown_verb: unknown verb 'power'",
                         device="proj", sender="127.0.0.1:5000"))
    fb.local_event(Event("listener", "rejected", "unknown_device: unknown device 'nope'",
                         device="nope", sender="127.0.0.1:5000"))
    fb.on_message(Event("device", "error", "cannot connect to h:1: refused", device="proj"))
    fb.on_message(Event("device", "dropped", "'X': expired", device="proj"))
    fb.on_message(Event("device", "sent", "X", device="proj"))  # not feedback
    fb.on_message(Event("device", "state", "ready: connected", device="proj"))  # from status
    # the listener's own events come back through the registry: already handled locally
    fb.on_message(Event("listener", "rejected", "malformed: ...", sender="127.0.0.1:5000"))
    assert sent(fb) == [
        ("/oscar/device/proj/error", ["unknown_verb: unknown verb 'power'"]),
        ("/oscar/error", ["unknown_device: unknown device 'nope'"]),
        ("/oscar/device/proj/error", ["cannot connect to h:1: refused"]),
        ("/oscar/device/proj/error", ["dropped 'X': expired"]),
    ]
    assert len(fb.clients.to["127.0.0.1:5000"]) == 2


def test_reply_rate_limit_counts_and_summarises(fb):
    fb.links.sent.clear()
    clock = fb.clock_
    for index in range(feedback.REPLIES_PER_SECOND + 30):
        fb.on_message(Event("device", "reply", f"L{index}", device="proj"))
    replies = [args for address, args in sent(fb) if address.endswith("/reply")]
    assert replies == [[f"L{i}"] for i in range(feedback.REPLIES_PER_SECOND)]  # in order
    assert fb.counters["feedback_rate_limited"] == 30
    fb.tick()
    assert not [a for a, _ in sent(fb) if a.endswith("/error")]  # window still open
    clock.now += 1.0
    fb.tick()
    assert sent(fb)[-1] == ("/oscar/device/proj/error", [
        "30 more replies within a second not forwarded (rate limit 50/s)"])
    # a new window forwards again
    fb.on_message(Event("device", "reply", "again", device="proj"))
    assert sent(fb)[-1] == ("/oscar/device/proj/reply", ["again"])


def test_the_actors_own_summary_becomes_an_error_not_a_reply(fb):
    fb.links.sent.clear()
    fb.on_message(Event("device", "replies_hidden", "450 more replies within a second, last: L9",
                        device="proj"))
    assert sent(fb) == [("/oscar/device/proj/error", [
        "450 more replies within a second not forwarded (rate limit 50/s)"])]
    assert fb.counters["feedback_rate_limited"] == 450


def test_targets_from_the_setting_then_from_the_registry(fb):
    assert fb.links.targets == [Target("udp", "127.0.0.1", 9000)]
    fb.on_message(FeedbackTargets(["tcp://10.0.0.5:53000", "udp://[::1]:9"]))
    assert fb.links.targets == [Target("tcp", "10.0.0.5", 53000), Target("udp", "::1", 9)]
    fb.on_message(FeedbackTargets([]))
    assert fb.links.targets == []


def test_queries(fb):
    fb.on_message(status(state="ready", sent=4, replies=2, last_reply="OK"))
    (answer,) = fb.answer_query(["proj"])
    assert parsed(answer) == ("/oscar/device/proj/status", ["ready", 4, 0, 0, 2, "OK", ""])
    (answer,) = fb.answer_query(["off"])
    assert parsed(answer)[1][0] == "disabled"
    assert parsed(fb.answer_check()) == ("/oscar/check", ["ok"])
    fb.on_message(status(state="auth_failed"))
    assert parsed(fb.answer_check()) == ("/oscar/check", ["not_ready", "proj auth_failed"])
    assert fb.counters["queries"] == 4
    assert len(fb.answer_query([f"d{i}" for i in range(500)])) == feedback.MAX_QUERY_ANSWERS
    assert fb.links.sent == [p for p in fb.links.sent if b"/status" not in p]  # asker only


def test_oscar_status_shows_feedback_counters_apart_from_refusals():
    from oscar import cli_format

    counters = {"packets": 10, "forwarded": 9, "unknown_device": 1, "feedback_sent": 40,
                "feedback_dropped": 3, "feedback_queued": 2, "feedback_rate_limited": 7,
                "queries": 4, "feedback_errors": 0}
    text = cli_format.status_table({"devices": [], "listener": {
        "udp_port": 1, "tcp_port": 1, "counters": counters}})
    assert "1 rejected" in text
    assert "feedback 40 sent, 3 dropped, 7 replies over the rate limit" in text


def test_a_state_no_osc_string_can_hold_does_not_stop_feedback(fb):
    fb.on_message(status(state="rea\x00dy" + "y" * 300))
    (address, args) = sent(fb)[-1]
    assert address == "/oscar/device/proj/state" and "\x00" not in args[0]
    assert len(args[0].encode()) <= 64
    assert parsed(fb.answer_check())[1][0] == "not_ready"
    assert fb.counters["feedback_errors"] == 0


def test_a_bug_in_feedback_is_counted_not_raised(fb, caplog):
    def broken(packet):
        raise RuntimeError("bug")

    fb.links.send = broken
    fb.on_message(Event("device", "error", "x", device="proj"))
    fb.local_event(Event("listener", "rejected", "x"))
    assert fb.counters["feedback_errors"] == 2
    assert "feedback failed" in caplog.text


def test_a_device_reply_that_reads_like_a_summary_is_still_a_reply(fb):
    fb.links.sent.clear()
    fb.on_message(Event("device", "reply", "3 more replies within a second", device="proj"))
    assert sent(fb) == [("/oscar/device/proj/reply", ["3 more replies within a second"])]
