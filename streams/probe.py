"""A process's check of its own path through the channel layer.

A Redis restart drops pub/sub subscriptions, and events published
meanwhile vanish without a trace: an event that never arrives leaves no gap
to see until the next one of its scope, which may never come. So each hub
sends itself a probe through the layer every STREAMS_LAYER_PROBE_SECONDS.
A probe that cannot be sent, or that has not come back LOST_AFTER ticks
later, means events may have been lost on that path: the hub closes its
sockets with 1012, so every client reconnects and resyncs, and answers
subscribes `unavailable` until a probe sent after the trouble returns.

Counted in ticks of the process's own loop, not wall time, so a process
that was frozen does not take its own pause for a lost layer.
"""

import asyncio
import logging

from streams import metrics

logger = logging.getLogger(__name__)

PROBE = "stream.probe"
LOST_AFTER = 5


class LayerProbe:
    def __init__(self, hub):
        self.hub = hub
        self.ok = True
        self._sent = 0
        self._awaited = set()
        self._trouble_at = 0

    async def tick(self, timeout):
        """Sends the next probe, then judges the layer."""
        self._sent += 1
        n = self._sent
        self._awaited.add(n)  # before sending: it may come back first
        try:
            await asyncio.wait_for(
                self.hub.layer.send(self.hub.channel, {"type": PROBE, "n": n}), timeout
            )
        except Exception as exc:
            self._awaited.discard(n)
            await self._troubled(n, f"a probe could not be sent ({type(exc).__name__})")
        lost = {m for m in self._awaited if m <= n - LOST_AFTER}
        if lost:
            self._awaited -= lost
            await self._troubled(n, f"{len(lost)} probe(s) never came back")

    def returned(self, message):
        n = message["n"]
        self._awaited.discard(n)
        if not self.ok and n > self._trouble_at:
            self.ok = True
            logger.warning("hub: the channel layer delivers again")

    async def _troubled(self, n, why):
        self._trouble_at = n
        if not self.ok:
            return
        self.ok = False
        metrics.count(self.hub.stats, "layer_outages")
        logger.error(
            "hub: events may have been lost on the channel layer (%s); closing %d "
            "socket(s) with 1012 so their clients resync", why, len(self.hub.consumers),
        )
        for consumer in list(self.hub.consumers):
            await consumer.close_for_resync()
