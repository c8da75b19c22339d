"""The channel layer as streams uses it, Redis or in-memory alike, and the
messages the publisher and the hubs exchange over it.

With Redis (REDIS_URL), a group message reaches every server process
through channels-redis. The in-memory layer of the embedded mode (`make
run`) cannot cross processes or threads, and the publisher runs on a thread
of its own: its messages are handed straight to the receivers of this
process (each event loop's hub registers itself here), on their own loops.
The publisher and the hubs both talk to this module and never to each
other, so neither side imports the other.
"""

import asyncio
import logging

from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

# Layer message types. A publisher's consecutive events of one group, in
# seq order, travel as one FRAMES message; the hub hands each on to its
# sockets as a FRAME. A CONTROL is a connection-level instruction (close,
# recheck) with no seq.
FRAMES = "stream.frames"
FRAME = "stream.frame"
CONTROL = "stream.control"
# A CONTROL's actions.
CLOSE = "close"
RECHECK = "recheck"

_receivers = {}  # event loop -> the coroutine function that takes a message
_warned = False


def embedded():
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


def receive_here(loop, dispatch):
    """Called by a hub when it starts: with the in-memory layer, group
    messages of this process are handed to `dispatch` on `loop`."""
    _receivers[loop] = dispatch


def receivers_here():
    """The loops of this process that take the in-memory layer's messages
    and still run."""
    for loop in [loop for loop in _receivers if loop.is_closed()]:
        del _receivers[loop]
    return list(_receivers)


async def group_send(group, payload):
    if not embedded():
        await get_channel_layer().group_send(group, payload)
        return
    loops = receivers_here()
    global _warned
    if not loops and not _warned:
        _warned = True
        logger.warning(
            "streams: in-memory channel layer and no server in this process: events "
            "published here reach no client. Set REDIS_URL to share them."
        )
    for loop in loops:
        future = asyncio.run_coroutine_threadsafe(_receivers[loop](payload), loop)
        await asyncio.wrap_future(future)


def explained():
    """The caller has told the user why events go nowhere: don't warn."""
    global _warned
    _warned = True
