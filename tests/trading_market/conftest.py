"""Fixtures of the market-side tests: an empty market store, a scripted
feed, and the WebSocket helpers of tests/streams."""

import pytest
import redis
from django.conf import settings

from tests.streams.conftest import connect, flush  # noqa: F401  (fixtures)
from trading import market_store
from trading.feeds.base import Batch, Feed, Quote


def forget_market(url):
    """Drops the stored market values, in Redis at `url` and in this process."""
    if url:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(market_store.KEY_PREFIX + "*"):
            client.delete(key)
        client.close()
    market_store.reset()


@pytest.fixture(autouse=True)
def empty_market():
    """Every test starts with no stored tickers, indicators or alerts, in
    this process or in Redis (CI sets REDIS_URL for the whole suite)."""
    forget_market(settings.REDIS_URL)
    yield market_store.store()
    forget_market(settings.REDIS_URL)


class ScriptedFeed(Feed):
    """Batches given by the test, one quote per (symbol, price, volume)."""

    def __init__(self, ticks, start=1_000.0, interval=1.0):
        self.ticks = ticks
        self.start = start
        self.interval = interval

    def batches(self):
        for number, quotes in enumerate(self.ticks):
            yield Batch(self.start + number * self.interval, tuple(Quote(*quote) for quote in quotes))


@pytest.fixture
def scripted():
    return ScriptedFeed
