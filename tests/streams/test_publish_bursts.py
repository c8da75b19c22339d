"""A writer's burst (a coordinator's tick, a bulk update) leaves the
publisher in batches: numbered together, sent as one layer message per
scope. Every subscriber must still get every event of its scope, once, in
publishing order, with contiguous seqs, across batch boundaries."""

import pytest

from streams.publishing.publish import BATCH, publish

pytestmark = pytest.mark.django_db(transaction=True)

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def liquidation(n):
    return {
        "symbol": SYMBOLS[n % 2],
        "side": "long",
        "price": 1.5,
        "quantity": n,
        "value_usd": 3.0,
        "timestamp": "2026-11-27T10:00:00.000Z",
    }


async def test_a_burst_reaches_every_scope_whole_and_in_order(connect, owner, flush):
    everything, one_symbol = await connect(owner), await connect(owner)
    await everything.subscribe("liquidations", {})
    await one_symbol.subscribe("liquidations", {"symbol": "BTCUSDT"})
    # Frames of about 200 bytes to two scopes each: several batches by
    # count (BATCH) and by bytes (BATCH_BYTES).
    count = 5 * BATCH
    for n in range(count):
        publish("liquidations", "liquidation", liquidation(n), symbol=SYMBOLS[n % 2])
    await flush()

    for client, expected in (
        (everything, list(range(count))),
        (one_symbol, list(range(0, count, 2))),
    ):
        received = [await client.receive() for _ in expected]
        assert [m["data"]["quantity"] for m in received] == expected
        first = received[0]["seq"]
        assert [m["seq"] for m in received] == list(range(first, first + len(expected)))
        assert len({m["epoch"] for m in received}) == 1


async def test_an_event_that_cannot_be_routed_is_dropped_alone(connect, owner, flush):
    """One bad event in a burst (here, without the key its stream routes
    on) costs that event only: the others of its batch, and everything
    published later, still reach the subscribers, numbered without a gap."""
    client = await connect(owner)
    await client.subscribe("liquidations", {})
    publish("liquidations", "liquidation", liquidation(0), symbol=SYMBOLS[0])
    publish("liquidations", "liquidation", liquidation(1))
    publish("liquidations", "liquidation", liquidation(2), symbol=SYMBOLS[0])
    await flush()
    publish("liquidations", "liquidation", liquidation(3), symbol=SYMBOLS[1])
    await flush()
    received = [await client.receive() for _ in range(3)]
    assert [m["data"]["quantity"] for m in received] == [0, 2, 3]
    assert [m["seq"] for m in received] == [received[0]["seq"] + n for n in range(3)]
