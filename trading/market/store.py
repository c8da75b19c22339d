"""The latest market values, for the market streams' snapshots.

The coordinator writes here on every tick and daphne's snapshots read from
here, and they are usually separate processes: with REDIS_URL the values
live in Redis under `<STREAMS_NAMESPACE>:market:` (a hash per stream, field
= symbol; a capped list per feed of alerts, newest first), without it in
this process. Keys expire an hour
after the last write, so a coordinator that stopped long ago leaves no
stale tickers behind.

Written before the matching event is published, so a snapshot taken after
an event was numbered already holds that event's value.
"""

import json
import threading
from collections import deque

from streams import PerSettings, sync_client

RECENT_CAP = 100
TTL_SECONDS = 3600


class LocalMarketStore:
    """One process's store (in-memory channel layer)."""

    def __init__(self):
        self._latest = {}
        self._recent = {}
        self._lock = threading.Lock()

    def put_latest(self, name, by_symbol):
        with self._lock:
            self._latest.setdefault(name, {}).update(by_symbol)

    def latest(self, name, symbol=None):
        with self._lock:
            values = self._latest.get(name, {})
            return [values[key] for key in sorted(values) if symbol in (None, key)]

    def push_recent(self, name, items):
        with self._lock:
            recent = self._recent.setdefault(name, deque(maxlen=RECENT_CAP))
            recent.extendleft(items)

    def recent(self, name):
        with self._lock:
            return list(self._recent.get(name, ()))

    def forget(self):
        with self._lock:
            self._latest.clear()
            self._recent.clear()


class RedisMarketStore:
    """Shared by every process; redis-py's client is thread-safe, and the
    snapshots run in worker threads."""

    def __init__(self, url, namespace):
        self.prefix = f"{namespace}:market:"
        self.client = sync_client(url, decode_responses=True)

    def put_latest(self, name, by_symbol):
        if not by_symbol:
            return
        key = self.prefix + name
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, mapping={symbol: json.dumps(data) for symbol, data in by_symbol.items()})
        pipe.expire(key, TTL_SECONDS)
        pipe.execute()

    def latest(self, name, symbol=None):
        key = self.prefix + name
        if symbol is not None:
            value = self.client.hget(key, symbol)
            return [json.loads(value)] if value else []
        values = self.client.hgetall(key)
        return [json.loads(values[symbol]) for symbol in sorted(values)]

    def push_recent(self, name, items):
        if not items:
            return
        key = self.prefix + name
        pipe = self.client.pipeline(transaction=True)
        pipe.lpush(key, *(json.dumps(item) for item in items))
        pipe.ltrim(key, 0, RECENT_CAP - 1)
        pipe.expire(key, TTL_SECONDS)
        pipe.execute()

    def recent(self, name):
        return [json.loads(item) for item in self.client.lrange(self.prefix + name, 0, -1)]

    def forget(self):
        for key in self.client.scan_iter(self.prefix + "*"):
            self.client.delete(key)


def _build(url, namespace):
    return RedisMarketStore(url, namespace) if url else LocalMarketStore()


store = PerSettings(_build, "REDIS_URL", "STREAMS_NAMESPACE")
