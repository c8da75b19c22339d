"""The fault tests' own instruments, without any server: a check that
can't fail proves nothing, so these show the client resyncs when it must
and `silent_skips` flags exactly a write skipped without a resync."""

import asyncio

from tests.faults.support import silent_skips
from tests.support.stream_client import StreamClient


def event(seq, version, epoch="e1", row_id="1", type_="state_change", state="monitoring"):
    return {
        "type": type_,
        "stream": "state_machines",
        "seq": seq,
        "epoch": epoch,
        "data": {"id": row_id, "state": state, "version": version},
    }


def snapshot(seq, rows, epoch="e1"):
    return {
        "type": "full_update",
        "stream": "state_machines",
        "seq": seq,
        "epoch": epoch,
        "data": {"instances": [{"id": i, "state": s, "version": v} for i, s, v in rows]},
    }


def test_a_version_jump_without_a_snapshot_is_a_silent_skip():
    seen = {"1": [("snapshot", 1, 0), ("event", 2, 1), ("event", 4, 2)]}
    assert silent_skips(seen, {"1": {1, 2, 3, 4}}) == [("1", 2, 4, [3])]


def test_a_jump_covered_by_a_snapshot_or_by_unannounced_writes_is_not():
    covered = {"1": [("event", 2, 1), ("snapshot", 5, 7), ("event", 6, 8)]}
    assert silent_skips(covered, {"1": {1, 2, 3, 4, 5, 6}}) == []
    conditions_only = {"1": [("snapshot", 2, 0), ("event", 5, 1)]}
    assert silent_skips(conditions_only, {"1": {1, 2, 5}}) == []


async def test_the_client_follows_seq_and_epoch_like_the_protocol_says():
    client = StreamClient("t", "ws://unused", "token", params={"session_id": "1"})
    client.handle(snapshot(10, [("1", "idle", 3)]))
    client.handle(event(10, 9))  # seq already covered by the snapshot: ignored
    client.handle(event(11, 4))
    assert client.view() == {"1": ("monitoring", 4)}
    client.handle(event(13, 6))  # a gap: resubscribe, apply nothing until full_update
    assert client.resyncing and client.view() == {"1": ("monitoring", 4)}
    client.handle(event(14, 7))
    assert client.view() == {"1": ("monitoring", 4)}
    client.handle(snapshot(20, [("1", "entering", 8)]))
    client.handle(event(1, 9, epoch="e2"))  # a new epoch: resubscribe again
    assert client.resyncing and client.view() == {"1": ("entering", 8)}
    await asyncio.sleep(0)
    assert [what for _, what in client.history if what.startswith("resubscribe")] == [
        "resubscribe: gap: seq 13 after 11",
        "resubscribe: new epoch e2 (had e1)",
    ]
    assert client.observations["1"] == [("snapshot", 3, 10), ("event", 4, 11), ("snapshot", 8, 20)]


async def test_a_resuming_client_sends_since_and_keeps_its_table_when_recovered():
    client = StreamClient("t", "ws://unused", "token", params={"session_id": "1"}, resume=True)
    client.handle(snapshot(10, [("1", "idle", 3)]))
    client.handle(event(11, 4))
    client.handle(event(13, 6))  # gap
    await asyncio.sleep(0)
    assert client._frame["since"] == {"seq": 11, "epoch": "e1"}
    client.handle(
        {
            "type": "subscribed",
            "stream": "state_machines",
            "data": {"recovered": True},
            "request_id": client._frame["request_id"],
        }
    )
    client.handle(event(12, 5))
    client.handle(event(13, 6))
    assert client.view() == {"1": ("monitoring", 6)} and client.recoveries == 1
    assert silent_skips(client.observations, {"1": {3, 4, 5, 6}}) == []
