"""Per-scope `seq`/`epoch` counters, shared by every server process.

A seq is never reused within an epoch (PROTOCOL.md): a client that has
seen seq N ignores anything numbered N or less as old, so a counter that
went backwards would make it skip events silently. With Redis each scope is
one hash (`epoch`, `seq`, `run`) moved by a Lua script, and a new epoch
starts whenever the counter could have gone backwards or skipped an event:
- the hash is gone (a restart without data, eviction, expiry);
- the hash was written by another Redis run (`run` is the server's run_id,
  which changes on every restart and differs on a replica that took over):
  data restored from AOF or RDB may lack the last increments;
- the publisher asks for it (`fresh`): an event of that scope could not be
  numbered or sent, so the next one must not look contiguous.
Without Redis the counters live in this process, whose start is the epoch.
"""

import asyncio
import threading
import uuid

from django.conf import settings

from streams.redis_clients import async_client

# KEYS[1] the scope's hash; ARGV: a new epoch id, the TTL, '1' to force a
# new epoch. The hash lives ARGV[2] seconds past its last use, so a scope
# nobody publishes to or subscribes to disappears.
_PROLOGUE = """
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local held = redis.call('HMGET', KEYS[1], 'epoch', 'run')
if not held[1] or held[2] ~= run or ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'run', run, 'seq', 0)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""
_NEXT = _PROLOGUE + """
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
return {redis.call('HGET', KEYS[1], 'epoch'), seq}
"""
_CURRENT = _PROLOGUE + """
return {redis.call('HGET', KEYS[1], 'epoch'), tonumber(redis.call('HGET', KEYS[1], 'seq'))}
"""


def _new_epoch():
    return uuid.uuid4().hex[:12]


class LocalSequences:
    """Counters of one process (in-memory layer)."""

    def __init__(self):
        self.epoch = _new_epoch()
        self._seqs = {}
        self._lock = threading.Lock()

    async def next(self, group, fresh=False):
        with self._lock:
            if fresh:
                # One counter for the process: a new epoch for every scope.
                self.epoch, self._seqs = _new_epoch(), {}
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
            client = async_client(self.url, decode_responses=True)
            scripts = (client.register_script(_NEXT), client.register_script(_CURRENT))
            self._clients = {
                lp: s for lp, s in self._clients.items() if not lp.is_closed()
            }
            self._clients[loop] = scripts
        return scripts

    async def next(self, group, fresh=False):
        return await self._run(0, group, fresh)

    async def current(self, group):
        return await self._run(1, group, False)

    async def _run(self, script, group, fresh):
        args = [_new_epoch(), self.ttl, "1" if fresh else "0"]
        epoch, seq = await self._scripts()[script](keys=[self.prefix + group], args=args)
        return epoch, int(seq)


_store = None
_store_lock = threading.Lock()


def store():
    global _store
    with _store_lock:
        if _store is None:
            url = getattr(settings, "REDIS_URL", None)
            _store = (
                RedisSequences(url, settings.STREAMS_NAMESPACE, settings.STREAMS_SEQ_TTL_SECONDS)
                if url else LocalSequences()
            )
        return _store


def reset():
    """Forget the store (tests switch settings between runs)."""
    global _store
    with _store_lock:
        _store = None
