"""The reorder rules on their own, without a hub, a loop or a clock."""

from streams.fanout.reorder import ReorderBuffer


def frame(seq, epoch="e1", group="g"):
    return {"group": group, "seq": seq, "epoch": epoch}


def seqs(frames):
    return [f["seq"] for f in frames]


def test_an_early_frame_waits_for_the_one_before_it():
    buffer = ReorderBuffer()
    assert seqs(buffer.accept(frame(1))) == [1]
    assert buffer.accept(frame(3)) == [] and buffer.waiting("g")
    assert seqs(buffer.accept(frame(2))) == [2, 3] and not buffer.waiting("g")


def test_giving_up_hands_on_what_came_and_counts_what_did_not():
    buffer = ReorderBuffer()
    buffer.accept(frame(1))
    buffer.accept(frame(4))
    buffer.accept(frame(6))
    released, missed = buffer.give_up("g")
    assert seqs(released) == [4, 6] and missed == 3
    assert seqs(buffer.accept(frame(7))) == [7]


def test_a_late_frame_passes_and_a_new_epoch_starts_over():
    buffer = ReorderBuffer()
    buffer.accept(frame(5))
    assert seqs(buffer.accept(frame(3))) == [3]
    buffer.accept(frame(7))
    assert seqs(buffer.accept(frame(1, epoch="e2"))) == [7, 1]
    assert seqs(buffer.accept(frame(2, epoch="e2"))) == [2]
