"""Per-scope `seq`/`epoch` counters, shared by every server process.

With Redis, each scope is one hash (`seq`, `epoch`) updated by a Lua script,
so the number and the epoch move together: if Redis loses the hash (restart,
eviction) the next event starts a new epoch and clients resync. Without
Redis the counters live in this process, whose start is the epoch.
"""

import asyncio
import threading
import uuid

from django.conf import settings


# Both return {epoch, seq}, create the epoch when the hash is new, and keep
# the hash ARGV[2] seconds past its last use: a scope nobody publishes to
# or subscribes to disappears instead of costing a key forever.
_NEXT = """
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {redis.call('HGET', KEYS[1], 'epoch'), seq}
"""
_CURRENT = """
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {redis.call('HGET', KEYS[1], 'epoch'), tonumber(seq)}
"""


def _new_epoch():
    return uuid.uuid4().hex[:12]


class LocalSequences:
    """Counters of one process (in-memory layer)."""

    def __init__(self):
        self.epoch = _new_epoch()
        self._seqs = {}
        self._lock = threading.Lock()

    async def next(self, group):
        with self._lock:
            self._seqs[group] = self._seqs.get(group, 0) + 1
            return self.epoch, self._seqs[group]

    async def current(self, group):
        with self._lock:
            return self.epoch, self._seqs.get(group, 0)


class RedisSequences:
    """Counters in Redis; one client per event loop (redis.asyncio clients
    are bound to the loop that made them)."""

    def __init__(self, url, namespace, ttl):
        self.url = url
        self.ttl = ttl
        self.prefix = f"{namespace}:seq:"
        self._clients = {}

    def _scripts(self):
        loop = asyncio.get_running_loop()
        scripts = self._clients.get(loop)
        if scripts is None:
            import redis.asyncio as redis

            # redis-py's default pool raises past 100 connections; in a
            # burst of 1,000 subscribes, wait for a connection instead.
            pool = redis.BlockingConnectionPool.from_url(
                self.url, max_connections=64, timeout=20, socket_timeout=5,
                socket_connect_timeout=5, decode_responses=True,
            )
            client = redis.Redis(connection_pool=pool)
            scripts = (client.register_script(_NEXT), client.register_script(_CURRENT))
            self._clients = {
                lp: s for lp, s in self._clients.items() if not lp.is_closed()
            }
            self._clients[loop] = scripts
        return scripts

    async def next(self, group):
        epoch, seq = await self._scripts()[0](keys=[self.prefix + group], args=[_new_epoch(), self.ttl])
        return epoch, int(seq)

    async def current(self, group):
        epoch, seq = await self._scripts()[1](keys=[self.prefix + group], args=[_new_epoch(), self.ttl])
        return epoch, int(seq)


_store = None
_store_lock = threading.Lock()


def store():
    global _store
    with _store_lock:
        if _store is None:
            url = getattr(settings, "REDIS_URL", None)
            _store = RedisSequences(url, settings.STREAMS_NAMESPACE, settings.STREAMS_SEQ_TTL_SECONDS) if url else LocalSequences()
        return _store


def reset():
    """Forget the store (tests switch settings between runs)."""
    global _store
    with _store_lock:
        _store = None
