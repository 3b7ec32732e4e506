"""An actor's intake: resent duplicates recognised in and across batches, acks grouped by the
listener that sent each command."""

from oscar.actor_intake import Intake
from oscar.command_queue import Pending
from oscar.messages import Command


def command(seq):
    return Command("proj", b"cue %d" % seq, 100.0, "qlab", seq)


def item(seq, peer=b"L1"):
    return Pending(command(seq), peer)


def fresh(intake, seqs_in, peer=b"L1"):
    items = intake.fresh([command(n) for n in seqs_in], peer)
    assert all(i.peer == peer for i in items)
    return [i.command.seq for i in items]


def test_duplicates_are_dropped_and_acked_at_once_within_and_across_batches():
    intake = Intake()
    assert fresh(intake, [1, 2, 2]) == [1, 2]
    assert fresh(intake, [2, 3]) == [3]
    assert fresh(intake, [1], b"L2") == [1]  # another listener's seq 1
    assert intake.take_acks() == {b"L1": [2, 2]}  # each resent copy acked, nothing else


def test_seq_0_is_never_taken_for_a_duplicate():
    intake = Intake()
    assert fresh(intake, [0, 0]) == [0, 0]
    assert intake.take_acks() == {}


def test_the_window_remembers_the_newest_pairs_only():
    intake = Intake(window=3)
    fresh(intake, range(1, 6))
    assert fresh(intake, range(1, 6)) == [1, 2]
    assert len(intake._seen) == len(intake._order) == 3


def test_ack_all_acks_each_once_under_its_own_listener():
    intake = Intake()
    batch = [item(1), item(2, b"L2"), item(3), item(4, b"L2")]
    intake.ack_all(batch)
    intake.ack_all(batch[:2])  # written again on a later connection: not acked twice
    assert intake.take_acks() == {b"L1": [1, 3], b"L2": [2, 4]}
    assert all(i.acked for i in batch)
