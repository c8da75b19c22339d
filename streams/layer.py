"""The channel layer as streams uses it, Redis or in-memory alike.

With Redis (REDIS_URL), a group message reaches every server process
through channels-redis. The in-memory layer of the embedded mode (`make
run`) cannot cross processes or threads, and the publisher runs on a thread
of its own: its messages are handed straight to this process's hubs, on
their own loops, and a process with no hub (a manage.py command) relays its
events to the one running `manage.py serve` (streams/relay.py). Nothing
else in streams asks which layer is in use.
"""

import asyncio
import logging

from channels.layers import InMemoryChannelLayer, get_channel_layer

from streams import hub as hubs
from streams import relay

logger = logging.getLogger(__name__)

_warned = False


def embedded():
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


def relay_target():
    """Where this process's events must be relayed to: the announced
    server's URL when nothing in this process can hear them, else None."""
    if embedded() and not hubs.local_hubs():
        return relay.target()
    return None


def unheard():
    """Whether events published here reach no client at all (embedded, no
    hub here and no server announced): say so once, then stay quiet."""
    return embedded() and not hubs.local_hubs() and relay.target() is None


def explained():
    """The caller has told the user why events go nowhere: don't warn."""
    global _warned
    _warned = True


async def group_send(group, payload):
    if not embedded():
        await get_channel_layer().group_send(group, payload)
        return
    local = hubs.local_hubs()
    global _warned
    if not local and not _warned:
        _warned = True
        logger.warning(
            "streams: in-memory channel layer, no server in this process and no "
            "`manage.py serve` announced: events published here reach no client. "
            "Set REDIS_URL to share them."
        )
    for hub in local:
        future = asyncio.run_coroutine_threadsafe(hub.dispatch(payload), hub.loop)
        await asyncio.wrap_future(future)
