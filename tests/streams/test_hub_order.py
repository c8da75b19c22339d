"""The hub hands a scope's frames on in `seq` order, waiting briefly for a
frame another publisher numbered earlier but sent later."""

import asyncio

import pytest

from streams.fanout.hub import Hub
from streams.infra.layer import FRAME, FRAMES


class Recorder:
    def __init__(self):
        self.seqs = []

    async def deliver(self, group, message):
        self.seqs.append(message["seq"])


@pytest.fixture
async def hub():
    hub = Hub(asyncio.get_running_loop(), layer=None)
    hub.reorder_window = 0.05
    recorder = Recorder()
    hub.members["g"] = {recorder: None}
    hub.recorder = recorder
    return hub


def frame(seq, epoch="e1"):
    """A publisher's batch of one event."""
    event = {"type": FRAME, "group": "g", "seq": seq, "epoch": epoch, "frame": "{}"}
    return {"type": FRAMES, "group": "g", "frames": [event]}


async def test_frames_that_cross_on_the_way_are_handed_on_in_order(hub):
    for seq in (1, 3, 2, 4):
        await hub.dispatch(frame(seq))
    assert hub.recorder.seqs == [1, 2, 3, 4]
    assert hub.stats["gaps"] == 0


async def test_a_frame_that_never_comes_is_counted_and_the_rest_go_on(hub):
    for seq in (1, 3, 4):
        await hub.dispatch(frame(seq))
    assert hub.recorder.seqs == [1]
    await asyncio.sleep(0.1)
    assert hub.recorder.seqs == [1, 3, 4]
    assert hub.stats["gaps"] == 1


async def test_a_late_frame_is_passed_on_without_moving_the_count_back(hub):
    for seq in (1, 3):
        await hub.dispatch(frame(seq))
    await asyncio.sleep(0.1)
    await hub.dispatch(frame(2))
    await hub.dispatch(frame(4))
    assert hub.recorder.seqs == [1, 3, 2, 4]
    assert hub.stats["gaps"] == 1


async def test_a_new_epoch_starts_over(hub):
    await hub.dispatch(frame(7))
    await hub.dispatch(frame(9))
    await hub.dispatch(frame(1, epoch="e2"))
    assert hub.recorder.seqs == [7, 9, 1]
