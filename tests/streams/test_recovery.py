"""PROTOCOL.md "Sequence and recovery": a client that follows the rules
never shows a stale table, whatever the server loses."""

import dataclasses

import pytest
from channels.db import database_sync_to_async as db

from streams.fanout import hub
from streams.infra import sequence
from streams.wire import groups, registry
from trading.instances import states
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db(transaction=True)


class TableModel:
    """The client rules of PROTOCOL.md, as the dashboard applies them."""

    def __init__(self, client, params):
        self.client, self.params = client, params
        self.rows, self.seq, self.epoch, self.resyncs = {}, None, None, 0

    async def start(self):
        await self.client.send(
            {"action": "subscribe", "stream": "state_machines", "params": self.params}
        )

    async def apply(self, message):
        if message["type"] == "subscribed":
            return
        if message["type"] == "full_update":
            self.rows = {row["id"]: row for row in message["data"]["instances"]}
            self.seq, self.epoch = message["seq"], message["epoch"]
            return
        if message["epoch"] != self.epoch or message["seq"] > self.seq + 1:
            self.resyncs += 1
            self.seq = float("inf")  # ignore everything until the snapshot
            await self.start()
            return
        if message["seq"] <= self.seq:
            return
        self.seq = message["seq"]
        data = message["data"]
        known = self.rows.get(data["id"])
        if known and known["version"] >= data["version"]:
            return
        if message["type"] == "instance_removed":
            self.rows.pop(data["id"], None)
        else:
            self.rows[data["id"]] = data

    async def settle(self):
        """Apply messages until the stream goes quiet."""
        while not await self.client.nothing(0.5):
            await self.apply(await self.client.receive())


@db
def live_table(session):
    return {
        str(i.pk): (i.state, i.version)
        for i in StrategyInstance.objects.filter(session=session, state__in=states.LIVE)
    }


def shown(model):
    return {key: (row["state"], row["version"]) for key, row in model.rows.items()}


async def lose_next_event(group):
    """Advance the scope's counter behind the publisher's back, as a
    message lost in the layer would look to the client."""
    store = sequence.store()
    if isinstance(store, sequence.RedisSequences):
        import redis.asyncio as redis

        client = redis.Redis.from_url(store.url)
        await client.hincrby(store.prefix + group, "seq", 1)
        await client.aclose()
    else:
        store._seqs[group] = store._seqs.get(group, 0) + 1


async def restart_counter(group):
    store = sequence.store()
    if isinstance(store, sequence.RedisSequences):
        import redis.asyncio as redis

        client = redis.Redis.from_url(store.url)
        await client.delete(store.prefix + group)
        await client.aclose()
    else:
        store._seqs.pop(group, None)
        store.epoch = sequence._new_epoch()


@pytest.fixture
async def watched(connect, owner, trading_session, flush):
    """A client model in step with a session holding one instance:
    (model, the instance, the session's group)."""
    model = TableModel(await connect(owner), {"session_id": str(trading_session.pk)})
    await model.start()
    await model.settle()  # subscribed: the hub has joined the group
    instance = await db(StrategyInstance.objects.create)(
        session=trading_session, strategy="pump", symbol="A"
    )
    await flush()
    await model.settle()
    return model, instance, groups.stream_group("state_machines", f"session.{trading_session.pk}")


async def test_a_gap_makes_the_client_resync_to_the_database(watched, trading_session, flush):
    model, a, group = watched
    await lose_next_event(group)
    await db(a.transition_to)("monitoring")
    await db(StrategyInstance.objects.create)(session=trading_session, strategy="pump", symbol="B")
    await flush()
    await model.settle()

    assert model.resyncs == 1
    assert shown(model) == await live_table(trading_session)
    assert hub.stats()["gaps"] == 1, "the server counts what was lost"


async def test_a_new_epoch_makes_the_client_resync(watched, trading_session, flush):
    model, a, group = watched
    old_epoch = model.epoch

    await restart_counter(group)
    await db(a.transition_to)("monitoring")
    await flush()
    await model.settle()

    assert model.resyncs == 1 and model.epoch != old_epoch
    assert shown(model) == await live_table(trading_session)


async def test_events_during_the_snapshot_are_held_until_after_it(
    connect, owner, trading_session, monkeypatch
):
    """An event published while the snapshot is being read comes after the
    full_update (and only if it is newer), never before it."""
    instance = await db(StrategyInstance.objects.create)(
        session=trading_session, strategy="pump", symbol="A"
    )
    stream = registry.get("state_machines")
    original = stream.snapshot

    def slow_snapshot(params):
        data = original(params)
        StrategyInstance.objects.get(pk=instance.pk).transition_to("monitoring")
        from streams.publishing.publish import publisher

        publisher().flush()
        return data

    monkeypatch.setitem(
        registry._streams, "state_machines", dataclasses.replace(stream, snapshot=slow_snapshot)
    )
    client = await connect(owner)
    await client.send(
        {
            "action": "subscribe",
            "stream": "state_machines",
            "params": {"session_id": str(trading_session.pk)},
        }
    )
    assert (await client.receive())["type"] == "subscribed"
    snapshot = await client.receive()
    assert snapshot["type"] == "full_update"
    change = await client.receive()
    assert change["type"] == "state_change" and change["seq"] == snapshot["seq"] + 1
