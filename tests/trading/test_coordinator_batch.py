"""A tick writes every instance's change at once: a bounded number of
queries whatever the number of instances, never over someone else's
change, and each change announced after the commit."""

import logging

import pytest
from channels.db import database_sync_to_async as db
from django.db import connection
from django.test.utils import CaptureQueriesContext

from streams.publishing import publish as publishing
from trading.coordinator import Coordinator
from trading.exceptions import TransitionConflict
from trading.models import StateTransition, StrategyInstance

pytestmark = pytest.mark.django_db(transaction=True)


def make(session, count, symbol="XUSDT"):
    return StrategyInstance.objects.bulk_create(
        StrategyInstance(session=session, strategy="pump", symbol=symbol) for _ in range(count)
    )


def queries_of_one_tick(session, count, scripted):
    make(session, count)
    feed = scripted([[("XUSDT", 1.0, 1.0)]])
    coordinator = Coordinator(feed, [session.pk], speed=0)
    with CaptureQueriesContext(connection) as captured:
        assert coordinator.step(next(feed.batches())) == count
    return len(captured)


def test_a_tick_of_200_instances_costs_the_queries_of_a_tick_of_10(
    trading_session, other_session, scripted
):
    """SQLite lets a statement carry 999 parameters, so Django splits its
    bulk statements there into ~100 rows; PostgreSQL takes 500 a statement."""
    few = queries_of_one_tick(trading_session, 10, scripted)
    many = queries_of_one_tick(other_session, 200, scripted)
    assert few <= 6
    if connection.vendor == "postgresql":
        assert many == few
    else:
        assert many <= few + 4
    assert StateTransition.objects.filter(to_state="monitoring").count() == 210


def test_a_row_changed_meanwhile_is_left_and_the_rest_of_the_tick_lands(
    trading_session, scripted, monkeypatch, caplog
):
    first, edited, last = make(trading_session, 3)
    coordinator = Coordinator(scripted([]), [trading_session.pk], speed=0)
    stale = list(coordinator.runnable())
    # An operator edits the params in the admin: same state, a new version.
    fresh = StrategyInstance.objects.get(pk=edited.pk)
    fresh.params = {"take_profit_pct": 5}
    fresh.save()
    monkeypatch.setattr(coordinator, "runnable", lambda: stale)
    feed = scripted([[("XUSDT", 1.0, 1.0)]])
    with caplog.at_level(logging.INFO, logger="trading.coordinator.service"):
        assert coordinator.step(next(feed.batches())) == 2

    rows = {row.pk: row for row in StrategyInstance.objects.all()}
    assert (rows[edited.pk].state, rows[edited.pk].version) == ("idle", 2)
    assert rows[edited.pk].params == {"take_profit_pct": 5}
    assert [(rows[pk].state, rows[pk].version) for pk in (first.pk, last.pk)] == [
        ("monitoring", 2),
        ("monitoring", 2),
    ]
    [message] = [r.getMessage() for r in caplog.records if "changed meanwhile" in r.getMessage()]
    assert f"instance {edited.pk} is state idle, version 2, not state idle, version 1" in message


def test_apply_many_refuses_illegal_moves_and_gone_rows_one_by_one(trading_session):
    moving, stuck = make(trading_session, 2)
    gone = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="X").pk
    StrategyInstance.objects.get(pk=gone).delete()
    applied = StrategyInstance.objects.apply_many(
        {
            moving.pk: {"state": "monitoring"},
            stuck.pk: {"state": "in_position"},
            gone: {"state": "monitoring"},
        },
        {pk: {"state": "idle", "version": 1} for pk in (moving.pk, stuck.pk, gone)},
        {moving.pk: "test"},
    )
    assert [(row.pk, row.state, row.version) for row in applied.updated] == [
        (moving.pk, "monitoring", 2)
    ]
    assert "illegal transition idle -> in_position" in str(applied.refused[stuck.pk])
    assert isinstance(applied.refused[gone], TransitionConflict)
    assert "is gone" in str(applied.refused[gone])
    assert list(
        StateTransition.objects.filter(instance=moving.pk).values_list(
            "from_state", "to_state", "version", "reason"
        )
    ) == [("idle", "monitoring", 2, "test"), ("", "idle", 1, "created")]


@db
def setup_instances(session, count):
    return [instance.pk for instance in make(session, count)]


@db
def tick_then_settle(session, scripted):
    feed = scripted([[("XUSDT", 1.0, 1.0)]])
    coordinator = Coordinator(feed, [session.pk], speed=0)
    coordinator.step(next(feed.batches()))
    coordinator.settle()


async def test_every_move_of_a_tick_is_announced_after_commit_with_contiguous_versions(
    connect, owner, trading_session, scripted, flush, monkeypatch
):
    count = 20
    pks = await setup_instances(trading_session, count)
    await flush()
    client = await connect(owner)
    snapshot = await client.subscribe(params={"session_id": str(trading_session.pk)})
    published_inside_a_transaction = []
    publish = publishing.publish

    def watched(*args, **kwargs):
        published_inside_a_transaction.append(connection.in_atomic_block)
        return publish(*args, **kwargs)

    monkeypatch.setattr(publishing, "publish", watched)
    await tick_then_settle(trading_session, scripted)
    await flush()

    events = [await client.receive_type("state_change") for _ in range(2 * count)]
    await client.nothing()
    assert [event["seq"] for event in events] == list(
        range(snapshot["seq"] + 1, snapshot["seq"] + 1 + 2 * count)
    )
    seen = {}
    for event in events:
        seen.setdefault(int(event["data"]["id"]), []).append(
            (event["data"]["version"], event["data"]["state"])
        )
    assert seen == {pk: [(2, "monitoring"), (3, "idle")] for pk in pks}
    assert published_inside_a_transaction and not any(published_inside_a_transaction)
