"""Per-scope `seq`/`epoch` counters and event history, shared by every
server process.

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

Each event's frame is recorded in the scope's history by the same script
that numbers it, so a history read together with the counter holds every
event up to that seq: `subscribe` with `since` replays from it exactly
(PROTOCOL.md "Resuming from history"). A history keeps at least the last
HISTORY_EVENTS events and everything of the last HISTORY_SECONDS, at most
HISTORY_CAP. Without Redis, counters and history live in this process,
whose start is the epoch.

Longer than most modules here because the Lua scripts sit beside the
Python that calls them.
"""

import asyncio
import threading
import time
import uuid
from collections import deque

from streams.infra.redis_clients import async_client
from streams.infra.stores import PerSettings

HISTORY_EVENTS = 1000
HISTORY_SECONDS = 300
HISTORY_CAP = 20000


def seal(head, epoch, seq):
    """The frame of an event: its message encoded without seq and epoch,
    less the closing brace (`head`), with them appended, as
    `protocol.encode` would have put them last."""
    return f'{head},"seq":{seq},"epoch":"{epoch}"}}'


# KEYS: the scope's hash, its history; ARGV: a new epoch id, the TTL, '1' to
# force a new epoch. Both keys live ARGV[2] seconds past their last use, so
# a scope nobody publishes to or subscribes to disappears.
_PROLOGUE = """
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local held = redis.call('HMGET', KEYS[1], 'epoch', 'run')
if not held[1] or held[2] ~= run or ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'run', run, 'seq', 0)
  redis.call('DEL', KEYS[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
"""
# ARGV[4]: the frame's head (see seal); history members are "<ms>|<frame>".
_NEXT = (
    _PROLOGUE
    + f"""
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local frame = ARGV[4] .. ',"seq":' .. seq .. ',"epoch":"' .. epoch .. '"}}'
redis.call('ZADD', KEYS[2], seq, ms .. '|' .. frame)
local count = redis.call('ZCARD', KEYS[2])
if count > {HISTORY_CAP} then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, count - {HISTORY_CAP} - 1)
elseif count > {HISTORY_EVENTS} then
  local edge = redis.call('ZRANGE', KEYS[2], count - {HISTORY_EVENTS} - 1, count - {HISTORY_EVENTS} - 1)[1]
  if ms - tonumber(string.match(edge, '^(%d+)|')) > {HISTORY_SECONDS * 1000} then
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, count - {HISTORY_EVENTS} - 1)
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {{epoch, seq}}
"""
)
_CURRENT = (
    _PROLOGUE
    + """
return {epoch, tonumber(redis.call('HGET', KEYS[1], 'seq'))}
"""
)
# ARGV[4], ARGV[5]: the epoch and seq the client has. Returns {epoch, seq}
# and, when the history holds every event after the client's, their frames.
_SINCE = (
    _PROLOGUE
    + """
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local since = tonumber(ARGV[5])
if epoch ~= ARGV[4] or since > seq then
  return {epoch, seq, 0}
end
local members = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, seq)
if #members ~= seq - since then
  return {epoch, seq, 0}
end
local frames = {}
for i, member in ipairs(members) do
  frames[i] = string.sub(member, string.find(member, '|', 1, true) + 1)
end
return {epoch, seq, 1, frames}
"""
)


def _new_epoch():
    return uuid.uuid4().hex[:12]


class LocalSequences:
    """Counters and history of one process (in-memory layer)."""

    timer = staticmethod(time.monotonic)

    def __init__(self):
        self.epoch = _new_epoch()
        self._seqs = {}
        self._history = {}
        self._lock = threading.Lock()

    async def next_many(self, requests):
        """Numbers events: `requests` is [(group, head, fresh)], the reply
        [(epoch, seq, frame)] in the same order (see RedisSequences)."""
        return [self._next(*request) for request in requests]

    def _next(self, group, head, fresh):
        with self._lock:
            if fresh:
                # One counter for the process: a new epoch for every scope.
                self.epoch, self._seqs, self._history = _new_epoch(), {}, {}
            seq = self._seqs[group] = self._seqs.get(group, 0) + 1
            frame = seal(head, self.epoch, seq)
            history = self._history.setdefault(group, deque())
            now = self.timer()
            history.append((seq, now, frame))
            while len(history) > HISTORY_CAP or (
                len(history) > HISTORY_EVENTS and now - history[0][1] > HISTORY_SECONDS
            ):
                history.popleft()
            return self.epoch, seq, frame

    async def current(self, group):
        with self._lock:
            return self.epoch, self._seqs.get(group, 0)

    async def since(self, group, epoch, seq):
        with self._lock:
            last = self._seqs.get(group, 0)
            if epoch != self.epoch or seq > last:
                return self.epoch, last, None
            frames = [frame for n, _, frame in self._history.get(group, ()) if n > seq]
            return self.epoch, last, frames if len(frames) == last - seq else None


class RedisSequences:
    """Counters and history in Redis; one client per event loop
    (redis.asyncio clients are bound to the loop that made them)."""

    def __init__(self, url, namespace, ttl):
        self.url = url
        self.ttl = ttl
        self.prefix = f"{namespace}:seq:"
        self.history_prefix = f"{namespace}:hist:"
        self._clients = {}

    def _scripts(self):
        loop = asyncio.get_running_loop()
        scripts = self._clients.get(loop)
        if scripts is None:
            client = async_client(self.url, decode_responses=True)
            scripts = [client.register_script(s) for s in (_NEXT, _CURRENT, _SINCE)]
            self._clients = {lp: s for lp, s in self._clients.items() if not lp.is_closed()}
            self._clients[loop] = scripts
        return scripts

    def _keys(self, group):
        return [self.prefix + group, self.history_prefix + group]

    def _args(self, fresh, *extra):
        return [_new_epoch(), self.ttl, "1" if fresh else "0", *extra]

    def _call(self, index, group, *extra):
        return self._scripts()[index](keys=self._keys(group), args=self._args(False, *extra))

    async def next_many(self, requests):
        """Numbers events, [(group, head, fresh)] -> [(epoch, seq, frame)],
        in one round trip: the script runs once per event in a pipeline, in
        order. A publisher numbering a coordinator's tick one event at a
        time spent most of its time waiting for Redis (about 1,100 events/s)."""
        script = self._scripts()[0]
        pipe = script.registered_client.pipeline(transaction=False)
        for group, head, fresh in requests:
            await script(keys=self._keys(group), args=self._args(fresh, head), client=pipe)
        replies = await pipe.execute()
        return [
            (epoch, int(seq), seal(head, epoch, seq))
            for (epoch, seq), (_, head, _) in zip(replies, requests, strict=False)
        ]

    async def current(self, group):
        epoch, seq = await self._call(1, group)
        return epoch, int(seq)

    async def since(self, group, epoch, seq):
        reply = await self._call(2, group, epoch, seq)
        return reply[0], int(reply[1]), (reply[3] if reply[2] else None)


def _build(url, namespace, ttl):
    return RedisSequences(url, namespace, ttl) if url else LocalSequences()


store = PerSettings(_build, "REDIS_URL", "STREAMS_NAMESPACE", "STREAMS_SEQ_TTL_SECONDS")
