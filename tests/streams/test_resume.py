"""PROTOCOL.md "Resuming from history": a client that comes back with
`since` gets exactly the events it missed, in order, then live ones, with
nothing lost or repeated at the seam; a snapshot only when the history no
longer covers the gap or the epoch changed."""

import asyncio
from collections import deque

import pytest
from channels.db import database_sync_to_async as db

from streams.infra import sequence
from streams.wire import groups
from tests.streams.test_recovery import restart_counter
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def instance(trading_session):
    return await db(StrategyInstance.objects.create)(
        session=trading_session, strategy="pump", symbol="BTCUSDT"
    )


def move(instance, count):
    """`count` state changes of one instance, each its own commit."""
    for _ in range(count):
        instance.transition_to("monitoring" if instance.state == "idle" else "idle")


async def subscribe(client, session, since=None, request_id=None):
    frame = {
        "action": "subscribe",
        "stream": "state_machines",
        "params": {"session_id": str(session.pk)},
    }
    if since is not None:
        frame["since"] = since
    if request_id is not None:
        frame["request_id"] = request_id
    await client.send(frame)
    return await client.receive()


async def events(client, count, timeout=3):
    return [await client.receive(timeout) for _ in range(count)]


async def test_a_client_that_comes_back_gets_exactly_what_it_missed_then_live_events(
    connect, owner, trading_session, instance, flush
):
    first = await connect(owner)
    snapshot = await first.subscribe(params={"session_id": str(trading_session.pk)})
    await db(move)(instance, 2)
    await flush()
    seen = await events(first, 2)
    position = {"seq": seen[-1]["seq"], "epoch": seen[-1]["epoch"]}
    await first.disconnect()

    await db(move)(instance, 5)  # missed while away
    await flush()
    back = await connect(owner)
    subscribed = await subscribe(back, trading_session, since=position, request_id="r")
    assert subscribed["data"] == {"recovered": True} and subscribed["request_id"] == "r"
    # Live events while the replay is read: the seam must hold.
    writing = asyncio.ensure_future(db(move)(instance, 5))
    received = await events(back, 10)
    await writing
    assert [m["seq"] for m in received] == list(range(position["seq"] + 1, position["seq"] + 11))
    assert all(m["type"] == "state_change" and m["epoch"] == snapshot["epoch"] for m in received)
    assert [m["data"]["version"] for m in received] == sorted(
        {m["data"]["version"] for m in received}
    )
    assert await back.nothing(0.3)


async def test_a_client_with_nothing_missed_is_recovered_with_no_events(
    connect, owner, trading_session, instance
):
    client = await connect(owner)
    snapshot = await client.subscribe(params={"session_id": str(trading_session.pk)})
    again = await subscribe(
        client, trading_session, since={"seq": snapshot["seq"], "epoch": snapshot["epoch"]}
    )
    assert again["data"] == {"recovered": True}
    assert await client.nothing(0.3)


async def test_a_new_epoch_means_a_snapshot(connect, owner, trading_session, instance):
    client = await connect(owner)
    snapshot = await client.subscribe(params={"session_id": str(trading_session.pk)})
    reply = await subscribe(
        client, trading_session, since={"seq": snapshot["seq"], "epoch": "gone"}
    )
    assert reply["data"] == {"recovered": False}
    full = await client.receive()
    assert full["type"] == "full_update" and [i["id"] for i in full["data"]["instances"]] == [
        str(instance.pk)
    ]


async def test_a_gap_the_history_no_longer_covers_means_a_snapshot(
    connect, owner, trading_session, instance, flush, monkeypatch
):
    client = await connect(owner)
    snapshot = await client.subscribe(params={"session_id": str(trading_session.pk)})
    await db(move)(instance, 3)
    await flush()
    await events(client, 3)
    store = sequence.store()
    group = groups.stream_group("state_machines", f"session.{trading_session.pk}")
    if isinstance(store, sequence.RedisSequences):
        import redis.asyncio as redis

        server = redis.Redis.from_url(store.url)
        first_missed = snapshot["seq"] + 1  # trimmed away
        await server.zremrangebyscore(store.history_prefix + group, first_missed, first_missed)
        await server.aclose()
    else:
        store._history[group] = deque(
            entry for entry in store._history[group] if entry[0] != snapshot["seq"] + 1
        )
    reply = await subscribe(
        client, trading_session, since={"seq": snapshot["seq"], "epoch": snapshot["epoch"]}
    )
    assert reply["data"] == {"recovered": False}
    full = await client.receive()
    assert full["type"] == "full_update" and full["seq"] == snapshot["seq"] + 3


async def test_a_counter_that_restarted_means_a_snapshot(connect, owner, trading_session, instance):
    client = await connect(owner)
    snapshot = await client.subscribe(params={"session_id": str(trading_session.pk)})
    await restart_counter(groups.stream_group("state_machines", f"session.{trading_session.pk}"))
    reply = await subscribe(
        client, trading_session, since={"seq": snapshot["seq"], "epoch": snapshot["epoch"]}
    )
    assert reply["data"] == {"recovered": False}
    assert (await client.receive())["type"] == "full_update"


@pytest.mark.parametrize(
    "since",
    [
        {"seq": -1, "epoch": "e"},
        {"seq": "3", "epoch": "e"},
        {"seq": 3},
        {"seq": True, "epoch": "e"},
        {"seq": 3, "epoch": ""},
        [3, "e"],
        "3",
    ],
)
async def test_a_malformed_since_is_invalid_params(connect, owner, trading_session, since):
    client = await connect(owner)
    reply = await subscribe(client, trading_session, since=since)
    assert reply["type"] == "error" and reply["data"]["code"] == "invalid_params"
    assert "since" in reply["data"]["message"]
