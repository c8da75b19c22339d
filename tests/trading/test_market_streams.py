"""PROTOCOL.md "The other streams": snapshots, events and scope of the
streams the coordinator feeds, through the real consumer."""

import re

import pytest
from channels.db import database_sync_to_async as db

from streams.publishing.publish import publish
from streams.wire import registry
from trading.coordinator import Coordinator
from trading.coordinator.broadcast import broadcast_signal
from trading.market.feeds.base import Liquidation
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db(transaction=True)

SESSION_STREAMS = ("condition_progress", "signals")
MARKET_STREAMS = ("pump_indicators", "market_data", "liquidations")


@db
def start(session, symbol="BTCUSDT", **fields):
    return StrategyInstance.objects.create(
        session=session, strategy="pump", symbol=symbol, **fields
    )


@db
def run_ticks(feed, sessions=()):
    coordinator = Coordinator(feed, sessions, speed=0)
    for batch in feed.batches():
        coordinator.step(batch)


@pytest.fixture
def two_ticks(scripted):
    return scripted(
        [
            [("BTCUSDT", 100.0, 10.0), ("ETHUSDT", 10.0, 5.0, None)],
            [("BTCUSDT", 101.0, 30.0), ("ETHUSDT", 9.0, 5.0, Liquidation("long", 2.0))],
        ]
    )


async def test_market_snapshots_hold_the_latest_value_per_symbol(
    connect, stranger, two_ticks, flush
):
    await run_ticks(two_ticks)
    await flush()
    client = await connect(stranger)

    indicators = (await client.subscribe("pump_indicators"))["data"]["indicators"]
    assert [(i["symbol"], i["price"]) for i in indicators] == [("BTCUSDT", 101.0), ("ETHUSDT", 9.0)]
    assert indicators[0] == {
        "symbol": "BTCUSDT",
        "price": 101.0,
        "change_1m_pct": 1.0,
        "change_5m_pct": 1.0,
        "volume_ratio": 3.0,
        "pump_score": 35.0,
    }

    only_eth = await client.subscribe("pump_indicators", {"symbol": "ethusdt"})
    assert [i["symbol"] for i in only_eth["data"]["indicators"]] == ["ETHUSDT"]

    tickers = (await client.subscribe("market_data"))["data"]["tickers"]
    assert tickers[0] == {
        "symbol": "BTCUSDT",
        "price": 101.0,
        "bid": 100.9899,
        "ask": 101.0101,
        "volume_24h": 40.0,
    }

    [alert] = (await client.subscribe("liquidations"))["data"]["liquidations"]
    seen_at = alert.pop("timestamp")
    assert alert == {
        "symbol": "ETHUSDT",
        "side": "long",
        "price": 9.0,
        "quantity": 2.0,
        "value_usd": 18.0,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", seen_at)
    assert (await client.subscribe("liquidations", {"symbol": "BTCUSDT"}))["data"] == {
        "liquidations": []
    }


async def test_market_events_reach_subscribers_of_their_symbol(connect, owner, two_ticks, settings):
    settings.STREAMS_CONFLATE_SECONDS = 0
    client = await connect(owner)
    await client.subscribe("liquidations", {"symbol": "ETHUSDT"})
    await client.subscribe("market_data", {"symbol": "BTCUSDT"})
    await run_ticks(two_ticks)
    received = [await client.receive() for _ in range(3)]
    assert sorted((m["type"], m["data"]["symbol"]) for m in received) == [
        ("liquidation", "ETHUSDT"),
        ("ticker", "BTCUSDT"),
        ("ticker", "BTCUSDT"),
    ]
    await client.nothing()


async def test_condition_progress_comes_from_the_orm(
    connect, owner, trading_session, scripted, flush
):
    instance = await start(trading_session)
    await start(trading_session, "ETHUSDT", state="stopped")
    await run_ticks(scripted([[("BTCUSDT", 100.0, 10.0)]]), [trading_session.pk])
    await flush()
    client = await connect(owner)
    snapshot = await client.subscribe("condition_progress", {"session_id": str(trading_session.pk)})
    assert snapshot["session_id"] == str(trading_session.pk)
    [row] = snapshot["data"]["instances"]
    assert row["instance_id"] == str(instance.pk)
    assert (row["symbol"], row["strategy"]) == ("BTCUSDT", "pump")
    assert [c["name"] for c in row["conditions"]] == ["pump_score", "change_1m_pct", "volume_ratio"]

    conditions = [{"name": "x", "value": 1, "threshold": 2, "progress": 0.5, "met": False}]

    @db
    def edit():
        fresh = StrategyInstance.objects.get(pk=instance.pk)
        fresh.conditions = conditions
        fresh.save()
        fresh.symbol = "SOLUSDT"
        fresh.save(update_fields=["symbol"])

    await edit()
    event = await client.receive()
    assert (event["type"], event["session_id"]) == ("condition_progress", str(trading_session.pk))
    assert event["data"] == {"instance_id": str(instance.pk), "conditions": conditions}
    assert event["seq"] == snapshot["seq"] + 1
    await client.nothing()  # the symbol change is not condition progress


async def test_signals_snapshot_is_most_recent_first(connect, owner, trading_session):
    instance = await start(trading_session)
    await db(broadcast_signal)(instance, "buy", "entry: test", 100.0)
    await db(broadcast_signal)(instance, "sell", "exit: test", 102.0)
    client = await connect(owner)
    snapshot = await client.subscribe("signals", {"session_id": str(trading_session.pk)})
    assert [s["side"] for s in snapshot["data"]["signals"]] == ["sell", "buy"]
    latest = snapshot["data"]["signals"][0]
    assert latest.pop("timestamp") >= snapshot["data"]["signals"][1]["timestamp"]
    assert latest == {
        "instance_id": str(instance.pk),
        "symbol": "BTCUSDT",
        "side": "sell",
        "reason": "exit: test",
        "price": 102.0,
    }
    await db(broadcast_signal)(instance, "buy", "again", 101.0)
    event = await client.receive()
    assert (event["type"], event["data"]["reason"], event["session_id"]) == (
        "signal",
        "again",
        str(trading_session.pk),
    )


@pytest.mark.parametrize("stream", SESSION_STREAMS)
async def test_stranger_cannot_subscribe_to_another_users_session(
    connect, stranger, trading_session, stream
):
    client = await connect(stranger)
    await client.send(
        {
            "action": "subscribe",
            "stream": stream,
            "params": {"session_id": str(trading_session.pk)},
            "request_id": 1,
        }
    )
    error = await client.receive()
    assert (error["type"], error["stream"], error["data"]["code"]) == ("error", stream, "forbidden")
    await client.nothing()


@pytest.mark.parametrize("stream", SESSION_STREAMS)
async def test_staff_may_watch_any_session_but_must_name_it(
    connect, staff, trading_session, stream
):
    client = await connect(staff)
    await client.subscribe(stream, {"session_id": str(trading_session.pk)})
    await client.send({"action": "subscribe", "stream": stream, "params": {}})
    error = await client.receive()
    assert error["data"]["code"] == "invalid_params"
    assert "session_id is required" in error["data"]["message"]


@pytest.mark.parametrize("stream", MARKET_STREAMS)
@pytest.mark.parametrize(
    "params, message",
    [
        ({"session_id": "1"}, "unknown params"),
        ({"symbol": "BTC/USDT"}, "params.symbol must be a symbol"),
    ],
)
async def test_market_streams_refuse_bad_params(connect, owner, stream, params, message):
    client = await connect(owner)
    await client.send({"action": "subscribe", "stream": stream, "params": params})
    error = await client.receive()
    assert error["data"]["code"] == "invalid_params" and message in error["data"]["message"]


def indicators(symbol, score):
    return {
        "symbol": symbol,
        "price": 1.0,
        "change_1m_pct": 0.0,
        "change_5m_pct": 0.0,
        "volume_ratio": 1.0,
        "pump_score": score,
    }


async def test_conflation_keeps_the_latest_value_per_symbol(connect, owner, settings):
    settings.STREAMS_CONFLATE_SECONDS = 0.3
    client = await connect(owner)
    await client.subscribe("pump_indicators")
    for score in (10, 20, 30):
        publish(
            "pump_indicators",
            "indicators",
            indicators("BTCUSDT", score),
            conflate_key="BTCUSDT",
            symbol="BTCUSDT",
        )
    publish(
        "pump_indicators",
        "indicators",
        indicators("ETHUSDT", 5),
        conflate_key="ETHUSDT",
        symbol="ETHUSDT",
    )
    await client.nothing(0.15)  # nothing before the window closes
    received = sorted(
        [(await client.receive())["data"] for _ in range(2)], key=lambda data: data["symbol"]
    )
    assert received == [indicators("BTCUSDT", 30), indicators("ETHUSDT", 5)]
    await client.nothing(0.4)


def test_only_the_high_rate_streams_are_conflated(settings):
    settings.STREAMS_CONFLATE_SECONDS = 0.5
    windows = {name: registry.get(name).conflate_seconds() for name in registry.names()}
    assert windows["pump_indicators"] == windows["market_data"] == 0.5
    for name in ("state_machines", "signals", "condition_progress", "liquidations"):
        assert windows[name] == 0
