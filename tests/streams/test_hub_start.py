"""A burst of first connections on a loaded server: daphne cancels those
it could not accept within 5 s, and the hub they all wait for must still
start for the others."""

import asyncio

from streams.fanout import hub as hubs


class SlowLayer:
    async def new_channel(self, prefix):
        await asyncio.sleep(0.05)
        return prefix + "x"


async def test_a_cancelled_waiter_does_not_cancel_the_hubs_start(monkeypatch):
    monkeypatch.setattr(hubs, "get_channel_layer", SlowLayer)
    monkeypatch.setattr(hubs.Hub, "start", _channel_only)
    first = asyncio.ensure_future(hubs.get_hub())
    second = asyncio.ensure_future(hubs.get_hub())
    await asyncio.sleep(0.01)
    first.cancel()
    hub = await second
    assert hub.channel == "hub.x"
    del hubs._hubs[hub.loop]


async def _channel_only(self):
    self.channel = await self.layer.new_channel("hub.")
