"""Per-process fan-out: one channel-layer subscription per group per process.

A straightforward Channels design gives every socket its own layer channel
and sends every event through the layer once per socket; STACK-NOTES shows
that is where the time goes (and where the core layer drops messages). Here
each server process (one hub per event loop) joins a group once, receives an
event once, and hands the same pre-encoded text frame to each local
subscriber, in seq order (reorder.py). The hub also runs the loop's
timers: its own layer probe (probe.py), and the sweeps the connection side
installs over its sockets (streams/connection/sweeps.py).

Longer than most modules here because membership, fan-out and the
loop's timers share the hub's state; the rules themselves live in
reorder.py and probe.py.
"""

import asyncio
import logging
from collections import Counter

from channels.layers import get_channel_layer
from django.conf import settings

from streams.fanout.probe import LayerProbe
from streams.fanout.reorder import ReorderBuffer
from streams.fanout.snapshots import Snapshots
from streams.infra import layer as layers
from streams.infra import metrics
from streams.infra.layer import FRAMES

logger = logging.getLogger(__name__)


class Hub:
    reorder_window = 0.05  # seconds a frame waits for the ones before it

    def __init__(self, loop, layer):
        self.loop = loop
        self.layer = layer
        self.channel = None
        self.members = {}
        self.consumers = set()
        self.stats = Counter()
        self.snapshots = Snapshots()
        self.probe = LayerProbe(self)
        self._order = ReorderBuffer()
        self._timers = {}
        self._lock = asyncio.Lock()
        self._tasks = []
        self._undiscarded = set()
        self._spawned = set()
        self.starting = None
        self.swept = False  # streams/connection/sweeps.py installed

    @property
    def layer_ok(self):
        return self.probe.ok

    async def start(self):
        self.channel = await self.layer.new_channel("hub.")
        self._tasks.append(asyncio.ensure_future(self._read()))
        self.every(settings.STREAMS_LAYER_PROBE_SECONDS, self.probe_once)
        layers.receive_here(self.loop, self.dispatch)

    async def stop(self, timeout=5):
        """Cancels the hub's tasks, waiting `timeout` at most: a cancelled
        layer read unsubscribes in Redis (channels-redis), which can wait on
        a connection that is going away; a stop must not hang on it."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)

    def spawn(self, coroutine):
        """Runs `coroutine` on its own, keeping the task referenced until it
        ends (the loop holds tasks only weakly)."""
        task = asyncio.ensure_future(coroutine)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    def every(self, seconds, job):
        """Runs `job` (sync, or returning an awaitable) every `seconds` until
        the hub stops; a failure is logged and the timer goes on."""

        async def run():
            while True:
                await asyncio.sleep(seconds)
                try:
                    result = job()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    logger.exception("hub: a periodic job failed; it runs again in %s s", seconds)

        self._tasks.append(asyncio.ensure_future(run()))

    # Membership ---------------------------------------------------------

    def attach(self, consumer):
        self.consumers.add(consumer)
        metrics.CONNECTIONS.inc()

    def detach(self, consumer):
        if consumer in self.consumers:
            self.consumers.remove(consumer)
            metrics.CONNECTIONS.dec()

    async def join(self, group, consumer):
        """Called when a socket subscribes; the layer is only asked when the
        first local subscriber of a group arrives."""
        async with self._lock:
            members = self.members.get(group)
            if members is None:
                await self.layer.group_add(group, self.channel)
                self._undiscarded.discard(group)
                members = self.members[group] = {}
            members[consumer] = None

    async def leave(self, group, consumer):
        async with self._lock:
            members = self.members.get(group)
            if members is None:
                return
            members.pop(consumer, None)
            if not members:
                del self.members[group]
                self._cancel_wait(group)
                self._order.forget(group)
                await self._discard(group)

    async def _discard(self, group):
        """Leaves a group in the layer. Never raises: a socket that leaves
        while the layer is away must still leave its other groups; the
        group is discarded again at the next probe tick."""
        try:
            await self.layer.group_discard(group, self.channel)
        except Exception as exc:
            self._undiscarded.add(group)
            logger.warning("hub: could not leave %s in the layer (%s); will retry", group, exc)

    # Delivery -----------------------------------------------------------

    async def _read(self):
        backoff = 0.1
        while True:
            try:
                message = await self.layer.receive(self.channel)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.count(self.stats, "layer_errors")
                logger.exception("hub: channel layer receive failed; retrying")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)
                continue
            try:
                await self.dispatch(message)
            except Exception:
                # One message lost (the clients' seq rule sees the gap),
                # never the process's delivery.
                metrics.count(self.stats, "dispatch_errors")
                logger.exception("hub: could not hand on a message; it is lost")

    async def dispatch(self, message):
        if message.get("type") != FRAMES:
            await self._fan_out(message)
            return
        group = message["group"]
        for index, event in enumerate(message["frames"]):
            if index:
                # A batch holds up to a tick's worth of events: let the
                # sockets' own frames (pings, subscribes) in between.
                await asyncio.sleep(0)
            for ready in self._order.accept(event):
                await self._fan_out(ready)
        if not self._order.waiting(group):
            self._cancel_wait(group)
        elif group not in self._timers:
            self._timers[group] = self.loop.call_later(
                self.reorder_window,
                lambda: asyncio.ensure_future(self._give_up_waiting(group)),
            )

    async def _fan_out(self, message):
        group = message.get("group")
        members = self.members.get(group)
        if not members:
            return
        for consumer in list(members):
            try:
                pending = consumer.deliver(group, message)
                if pending is not None:
                    await pending
            except Exception:
                logger.exception("hub: delivery to one socket failed")
        metrics.count(self.stats, "deliveries", len(members))
        if "frame" in message:
            metrics.BYTES_SENT.inc(len(message["frame"]) * len(members))

    async def _give_up_waiting(self, group):
        """The reorder window closed: what never came is a real loss."""
        self._timers.pop(group, None)
        released, missed = self._order.give_up(group)
        if missed:
            metrics.count(self.stats, "gaps", missed)
            logger.warning(
                "hub: %d event(s) of %s lost before reaching this process; subscribers will resync",
                missed,
                group,
            )
        for message in released:
            await self._fan_out(message)

    def _cancel_wait(self, group):
        timer = self._timers.pop(group, None)
        if timer is not None:
            timer.cancel()

    # Timers ---------------------------------------------------------------

    async def probe_once(self, timeout=None):
        """One check of the layer (streams.fanout.probe); groups a failed discard
        left behind are discarded again."""
        await self.probe.tick(timeout or 2 * settings.STREAMS_LAYER_PROBE_SECONDS)
        for group in list(self._undiscarded):
            if group not in self.members:
                self._undiscarded.discard(group)
                await self._discard(group)


_hubs = {}


async def get_hub():
    """The hub of the running loop, started on first use. Callers that come
    while it starts wait for it: in a burst of first connections, one that
    joined a group before the hub had its channel got no events at all. The
    start is shielded: a waiter cancelled (daphne kills a connection not
    accepted within 5 s) must not cancel it for every other waiter."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = Hub(loop, get_channel_layer())
        _hubs[loop] = hub
        hub.starting = asyncio.ensure_future(hub.start())
    try:
        await asyncio.shield(hub.starting)
    except Exception:
        if _hubs.get(loop) is hub:
            del _hubs[loop]
        raise
    return hub


def local_hubs():
    """Hubs of this process whose loop still runs."""
    for loop in [loop for loop in _hubs if loop.is_closed()]:
        del _hubs[loop]
    return list(_hubs.values())


def stats():
    total = Counter()
    for hub in local_hubs():
        total.update(hub.stats)
        total["connections"] += len(hub.consumers)
        total["groups"] += len(hub.members)
    return dict(total)
