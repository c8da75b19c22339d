"""Fixtures of the market-side tests: an empty market store, a scripted
feed, and the WebSocket helpers of tests/streams."""

import pytest

from tests.support.websocket import connect, flush  # noqa: F401  (fixtures)
from trading.market import store as market_store
from trading.market.feeds.base import Batch, Feed, Quote


@pytest.fixture(autouse=True)
def empty_market():
    """Every test starts with no stored tickers, indicators or alerts, in
    this process or in Redis (CI sets REDIS_URL for the whole suite)."""
    market_store.store().forget()
    yield market_store.store()
    market_store.store().forget()


class ScriptedFeed(Feed):
    """Batches given by the test, one quote per (symbol, price, volume)."""

    def __init__(self, ticks, start=1_000.0, interval=1.0):
        self.ticks = ticks
        self.start = start
        self.interval = interval

    def batches(self):
        for number, quotes in enumerate(self.ticks):
            yield Batch(
                self.start + number * self.interval, tuple(Quote(*quote) for quote in quotes)
            )


@pytest.fixture
def scripted():
    return ScriptedFeed
