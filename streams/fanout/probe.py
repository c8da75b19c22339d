"""A process's check that its subscription to the channel layer holds.

A Redis restart drops pub/sub subscriptions, and events published before
this process is subscribed again vanish without a trace: an event that
never arrives leaves no gap to see until the next one of its scope, which
may never come. So every STREAMS_LAYER_PROBE_SECONDS each hub asks Redis,
on a connection of its own, two things that slowness cannot fake: the
server's run id (a new one means it restarted) and whether the hub's own
channel still has a subscriber (PUBSUB NUMSUB). Either answer going wrong,
or Redis not answering at all, means events may have been lost: the hub
closes its sockets with 1012, so every client reconnects and resyncs, and
answers subscribes `unavailable` until a check comes back right.

An answer that is only slow (Redis frozen, or this process too busy to read
it) is judged at the next tick: delayed events are not lost ones, and a
busy server must not close every socket it has. The in-memory layer lives
in the process and loses nothing: there is nothing to check.
"""

import asyncio
import logging

from channels.layers import InMemoryChannelLayer
from django.conf import settings

from streams.infra import metrics
from streams.infra.redis_clients import async_client

logger = logging.getLogger(__name__)


class LayerProbe:
    def __init__(self, hub):
        self.hub = hub
        self.ok = True
        self._run_id = None
        self._client = None

    async def tick(self, timeout):
        try:
            answer = await asyncio.wait_for(self.look(), timeout)
        except TimeoutError:
            return
        except Exception as exc:
            await self._troubled(f"Redis does not answer ({type(exc).__name__}: {exc})")
            return
        if answer is None:
            return
        run_id, subscribed = answer
        known, self._run_id = self._run_id, run_id
        if known is not None and run_id != known:
            await self._troubled("Redis restarted")
        elif not subscribed:
            await self._troubled("this process's subscription is gone")
        elif not self.ok:
            self.ok = True
            logger.warning("hub: the channel layer delivers again")

    async def look(self):
        """(Redis' run id, whether the hub's channel has a subscriber), or
        None for the in-memory layer."""
        if isinstance(self.hub.layer, InMemoryChannelLayer):
            return None
        if self._client is None:
            self._client = async_client(settings.REDIS_URL, max_connections=2)
        run_id = (await self._client.info("server"))["run_id"]
        if not self._pubsub():
            return run_id, True
        [(_, count)] = await self._client.pubsub_numsub(self.hub.channel)
        return run_id, count > 0

    def _pubsub(self):
        """The core layer keeps messages in lists, which survive with the
        data; only the pub/sub layer's subscriptions can silently go."""
        from channels_redis.pubsub import RedisPubSubChannelLayer

        return isinstance(self.hub.layer, RedisPubSubChannelLayer)

    async def _troubled(self, why):
        """Closes every socket with 1012, once per outage."""
        if not self.ok:
            return
        self.ok = False
        metrics.count(self.hub.stats, "layer_outages")
        logger.error(
            "hub: events may have been lost on the channel layer (%s); closing %d "
            "socket(s) with 1012 so their clients resync",
            why,
            len(self.hub.consumers),
        )
        for consumer in list(self.hub.consumers):
            await consumer.close_for_resync()
