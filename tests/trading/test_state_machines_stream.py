"""PROTOCOL.md "Stream state_machines", end to end through the ORM."""

import pytest
from channels.db import database_sync_to_async as db
from django.db import transaction

from config.timestamps import iso
from streams.publishing.publish import publisher
from trading import actors
from trading.exceptions import BulkWriteNotSupported
from trading.models import StrategyInstance, TradingSession

pytestmark = pytest.mark.django_db(transaction=True)

INSTANCE_FIELDS = {
    "id",
    "session_id",
    "strategy",
    "symbol",
    "state",
    "previous_state",
    "version",
    "updated_at",
    "state_changed_at",
    "reason",
    "actor",
    "changed_at",
}


def params(session):
    return {"session_id": str(session.pk)}


@db
def start(session, symbol="BTCUSDT", **fields):
    """Create an instance and wait until its event has left the publisher,
    so it cannot land after a snapshot taken later (where, numbered after
    it, it would be a harmless repeat)."""
    instance = StrategyInstance.objects.create(
        session=session, strategy="pump", symbol=symbol, **fields
    )
    publisher().flush()
    return instance


@db
def move(instance, *targets):
    with actors.acting_as("system:test"):
        for target in targets:
            instance.transition_to(target, reason="test")
    return instance


async def test_subscribe_replies_subscribed_then_full_update_of_live_instances(
    connect, owner, trading_session
):
    live = await start(trading_session)
    await start(trading_session, "ETHUSDT", state="stopped")
    client = await connect(owner)
    await client.send(
        {
            "action": "subscribe",
            "stream": "state_machines",
            "params": params(trading_session),
            "request_id": "r1",
        }
    )
    subscribed = await client.receive()
    assert subscribed["type"] == "subscribed"
    assert subscribed["stream"] == "state_machines"
    assert subscribed["params"] == params(trading_session)
    assert subscribed["request_id"] == "r1"
    snapshot = await client.receive()
    assert snapshot["type"] == "full_update"
    assert snapshot["session_id"] == str(trading_session.pk)
    assert isinstance(snapshot["seq"], int) and isinstance(snapshot["epoch"], str)
    [row] = snapshot["data"]["instances"]
    assert row.keys() >= INSTANCE_FIELDS
    assert row["id"] == str(live.pk) and row["state"] == "idle" and row["version"] == 1
    assert (row["reason"], row["actor"]) == ("created", live.actor)
    assert row["changed_at"] == row["state_changed_at"]


async def test_create_change_stop_and_delete_reach_the_subscriber(connect, owner, trading_session):
    client = await connect(owner)
    snapshot = await client.subscribe(params=params(trading_session))
    instance = await start(trading_session)
    added = await client.receive()
    assert added["type"] == "instance_added"
    assert added["data"]["id"] == str(instance.pk)
    assert added["seq"] == snapshot["seq"] + 1 and added["epoch"] == snapshot["epoch"]

    await move(instance, "monitoring")
    change = await client.receive()
    assert change["type"] == "state_change"
    assert change["data"]["state"] == "monitoring"
    assert change["data"]["previous_state"] == "idle"
    assert change["data"]["version"] == 2
    assert (change["data"]["reason"], change["data"]["actor"]) == ("test", "system:test")
    await db(instance.refresh_from_db)()
    assert change["data"]["changed_at"] == iso(instance.state_changed_at)
    assert change["seq"] == added["seq"] + 1

    await move(instance, "stopped")
    removed = await client.receive()
    assert removed["type"] == "instance_removed"
    assert removed["data"] == {
        "id": str(instance.pk),
        "session_id": str(trading_session.pk),
        "version": 3,
        "state": "stopped",
    }

    await move(instance, "idle")
    restarted = await client.receive()
    assert restarted["type"] == "instance_added" and restarted["data"]["version"] == 4

    instance_id = str(instance.pk)
    await db(instance.delete)()
    deleted = await client.receive()
    assert deleted["type"] == "instance_removed"
    assert deleted["data"]["id"] == instance_id
    assert deleted["seq"] == snapshot["seq"] + 5


async def test_events_keep_per_instance_order(connect, owner, trading_session, flush):
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))
    instance = await start(trading_session)
    path = [
        "monitoring",
        "signal_detected",
        "entering",
        "in_position",
        "exiting",
        "monitoring",
        "idle",
    ] * 5
    await move(instance, *path)
    await flush()
    received = [await client.receive() for _ in range(len(path) + 1)]
    assert [m["data"]["state"] for m in received[1:]] == path
    assert [m["data"]["version"] for m in received] == list(range(1, len(path) + 2))
    seqs = [m["seq"] for m in received]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_rolled_back_change_is_never_broadcast(connect, owner, trading_session, flush):
    instance = await start(trading_session)
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))

    @db
    def fail_after_change():
        with pytest.raises(RuntimeError), transaction.atomic():
            StrategyInstance.objects.get(pk=instance.pk).transition_to("monitoring")
            StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="XRP")
            raise RuntimeError("rollback")

    await fail_after_change()
    await flush()
    await client.nothing()
    await move(instance, "monitoring")
    change = await client.receive()
    assert change["data"]["version"] == 2


async def test_savepoint_rollback_broadcasts_nothing_of_it(connect, owner, trading_session, flush):
    instance = await start(trading_session)
    other = await start(trading_session, "ETHUSDT")
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))

    @db
    def outer_commits_inner_rolls_back():
        with transaction.atomic():
            StrategyInstance.objects.get(pk=other.pk).transition_to("monitoring")
            try:
                with transaction.atomic():
                    StrategyInstance.objects.get(pk=instance.pk).transition_to("monitoring")
                    raise RuntimeError("inner")
            except RuntimeError:
                pass

    await outer_commits_inner_rolls_back()
    await flush()
    change = await client.receive()
    assert change["data"]["id"] == str(other.pk)
    await client.nothing()


async def test_stranger_is_forbidden_and_hears_nothing(connect, stranger, trading_session, flush):
    client = await connect(stranger)
    await client.send(
        {"action": "subscribe", "stream": "state_machines", "params": params(trading_session)}
    )
    error = await client.receive()
    assert error["type"] == "error" and error["data"]["code"] == "forbidden"
    assert error["stream"] == "state_machines"
    await start(trading_session)
    await flush()
    await client.nothing()


async def test_owner_sees_only_their_session(connect, owner, trading_session, other_session, flush):
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))
    await start(other_session)
    mine = await start(trading_session)
    await flush()
    added = await client.receive()
    assert added["data"]["id"] == str(mine.pk)
    await client.nothing()


async def test_non_staff_must_name_a_session(connect, owner):
    client = await connect(owner)
    await client.send({"action": "subscribe", "stream": "state_machines", "params": {}})
    assert (await client.receive())["data"]["code"] == "invalid_params"


async def test_staff_without_session_id_receive_every_session(
    connect, staff, trading_session, other_session
):
    await start(trading_session)
    client = await connect(staff)
    snapshot = await client.subscribe()
    assert len(snapshot["data"]["instances"]) == 1
    theirs = await start(other_session)
    added = await client.receive()
    assert added["data"]["id"] == str(theirs.pk)
    assert added["session_id"] == str(other_session.pk)
    assert added["seq"] == snapshot["seq"] + 1


async def test_staff_may_subscribe_to_any_one_session(connect, staff, other_session):
    client = await connect(staff)
    snapshot = await client.subscribe(params=params(other_session))
    assert snapshot["data"] == {"instances": []}


async def test_unsubscribe_stops_delivery(connect, owner, trading_session, flush):
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))
    await client.send(
        {
            "action": "unsubscribe",
            "stream": "state_machines",
            "params": params(trading_session),
            "request_id": 9,
        }
    )
    reply = await client.receive()
    assert reply["type"] == "unsubscribed" and reply["request_id"] == 9
    await start(trading_session)
    await flush()
    await client.nothing()


async def test_subscribing_twice_delivers_once_with_a_fresh_snapshot(
    connect, owner, trading_session, flush
):
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))
    await start(trading_session)
    added = await client.receive()
    again = await client.subscribe(params={"session_id": int(trading_session.pk)})
    assert len(again["data"]["instances"]) == 1
    assert again["seq"] >= added["seq"]
    instance = await db(StrategyInstance.objects.get)(pk=added["data"]["id"])
    await move(instance, "monitoring")
    await flush()
    assert (await client.receive())["type"] == "state_change"
    await client.nothing()


async def test_many_subscribers_each_get_every_event(connect, owner, staff, trading_session, flush):
    clients = [await connect(owner) for _ in range(5)] + [await connect(staff)]
    for client in clients:
        await client.subscribe(params=params(trading_session))
    instance = await start(trading_session)
    await move(instance, "monitoring", "idle")
    await flush()
    for client in clients:
        assert [(await client.receive())["type"] for _ in range(3)] == [
            "instance_added",
            "state_change",
            "state_change",
        ]


async def test_bulk_update_and_bulk_create_are_announced(connect, owner, trading_session, flush):
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))

    @db
    def bulk():
        StrategyInstance.objects.bulk_create(
            StrategyInstance(session=trading_session, strategy="pump", symbol=s)
            for s in ("AAA", "BBB")
        )
        StrategyInstance.objects.filter(session=trading_session).update(state="monitoring")

    await bulk()
    await flush()
    types = [(await client.receive())["type"] for _ in range(4)]
    assert types == ["instance_added", "instance_added", "state_change", "state_change"]


async def test_bulk_update_of_objects_is_refused_clearly(trading_session):
    instance = await start(trading_session)
    with pytest.raises(BulkWriteNotSupported, match="use queryset.update"):
        await db(StrategyInstance.objects.bulk_update)([instance], ["symbol"])


async def test_deleting_a_session_removes_each_live_instance(
    connect, owner, trading_session, flush
):
    a = await start(trading_session)
    b = await start(trading_session, "ETHUSDT")
    await start(trading_session, "XRPUSDT", state="stopped")
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))
    await db(TradingSession.objects.filter(pk=trading_session.pk).delete)()
    await flush()
    removed = [await client.receive() for _ in range(2)]
    assert {m["type"] for m in removed} == {"instance_removed"}
    assert {m["data"]["id"] for m in removed} == {str(a.pk), str(b.pk)}
    await client.nothing()


async def test_editing_symbol_announces_a_state_change(connect, owner, trading_session, flush):
    instance = await start(trading_session)
    client = await connect(owner)
    await client.subscribe(params=params(trading_session))
    instance.symbol = "SOLUSDT"
    await db(instance.save)()
    change = await client.receive()
    assert change["type"] == "state_change"
    assert change["data"]["symbol"] == "SOLUSDT" and change["data"]["version"] == 2
