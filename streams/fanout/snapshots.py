"""Snapshots shared by every subscriber of one scope at one seq.

A snapshot of 10,000 instances costs 140-320 ms to read and encode; built
per subscribe, 20 subscribes a second from one client saturate a process,
and a reconnect storm builds the same snapshot a thousand times. A
snapshot read after seq N holds every change numbered up to N (a change is
committed before its event is numbered), so any subscriber that read the
same (epoch, seq) after joining the group may be given the same one: what
came later reaches it as events. Concurrent subscribers wait for one build.
"""

import asyncio
import time

from streams.infra import metrics
from streams.infra.db import in_pool
from streams.wire.protocol import encode


class Snapshots:
    """The snapshots of one event loop's subscribers, encoded as JSON text.

    An entry is replaced when its scope's seq moves, and not reused past
    `max_age` seconds even if nothing was published, so data that changes
    without events (a market store) is never served old.
    """

    timer = staticmethod(time.monotonic)
    max_age = 2.0
    max_entries = 256

    def __init__(self):
        self._entries = {}
        self.builds = 0

    async def data(self, stream, params, group, epoch, seq):
        """The `data` of the scope's `full_update` as JSON text."""
        now = self.timer()
        entry = self._entries.get(group)
        if entry is None or entry[0] != (epoch, seq) or now - entry[1] > self.max_age:
            self._forget_old(now)
            task = asyncio.ensure_future(self._build(stream, params))
            entry = self._entries[group] = ((epoch, seq), now, task)
        try:
            return await asyncio.shield(entry[2])
        except Exception:
            if self._entries.get(group) is entry:
                del self._entries[group]
            raise

    async def _build(self, stream, params):
        self.builds += 1
        with metrics.SNAPSHOT_BUILD_SECONDS.time():
            return await in_pool(lambda: encode(stream.snapshot(params)))()

    def _forget_old(self, now):
        if len(self._entries) < self.max_entries:
            return
        for group, (_, born, _) in list(self._entries.items()):
            if now - born > self.max_age:
                del self._entries[group]
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
