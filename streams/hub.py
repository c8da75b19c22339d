"""Per-process fan-out: one channel-layer subscription per group per process.

A straightforward Channels design gives every socket its own layer channel
and sends every event through the layer once per socket; STACK-NOTES shows
that is where the time goes (and where the core layer drops messages). Here
each server process (one hub per event loop) joins a group once, receives an
event once, and hands the same pre-encoded text frame to each local
subscriber. The hub also watches sequence gaps (counted and logged, so a
drop is never silent) and closes sockets whose client went quiet.

A hub also probes its own path through the layer: a Redis restart drops
pub/sub subscriptions and events published meanwhile without a trace, and
an event that never arrives leaves no gap to see until the next one. When
its probes stop coming back, the hub closes its sockets with 1012 and
answers subscribes `unavailable` until they do: every client then knows,
reconnects, and resyncs from a snapshot taken once the layer works again.
"""

import asyncio
import logging
import time
from collections import Counter

from channels.layers import get_channel_layer
from django.conf import settings

from streams import access, metrics
from streams.snapshots import Snapshots

logger = logging.getLogger(__name__)

FRAME = "stream.frame"
CONTROL = "stream.control"
PROBE = "stream.probe"
# Probes (one per STREAMS_LAYER_PROBE_SECONDS) that may be outstanding before
# the layer counts as lost. Counted in ticks of this process's own loop, so
# a process that was frozen does not take its own pause for a lost layer.
PROBES_LOST = 5


class Hub:
    timer = staticmethod(time.monotonic)
    reorder_window = 0.05  # seconds a frame waits for the ones before it

    def __init__(self, loop, layer):
        self.loop = loop
        self.layer = layer
        self.channel = None
        self.members = {}
        self.consumers = set()
        self.stats = Counter()
        self.snapshots = Snapshots()
        self._last_seq = {}
        self._held = {}
        self._timers = {}
        self._lock = asyncio.Lock()
        self._tasks = []
        self._undiscarded = set()
        self.starting = None
        self.layer_ok = True
        self._probes_sent = 0
        self._awaited = set()
        self._trouble_at = 0

    async def start(self):
        self.channel = await self.layer.new_channel("hub.")
        self._tasks = [
            asyncio.ensure_future(self._read()),
            asyncio.ensure_future(self._sweep()),
            asyncio.ensure_future(self._recheck()),
            asyncio.ensure_future(self._probe()),
        ]

    async def stop(self):
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

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
                self._release(group)
                self._last_seq.pop(group, None)
                await self._discard(group)

    async def _discard(self, group):
        """Leaves a group in the layer. Never raises: a socket that leaves
        while the layer is away must still leave its other groups; the
        group is discarded again by the next sweep."""
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
        if message.get("type") == PROBE:
            self._probe_returned(message["n"])
            return
        if message.get("type") != FRAME:
            await self._fan_out(message)
            return
        for ready in self._in_order(message):
            await self._fan_out(ready)

    async def _fan_out(self, message):
        group = message.get("group")
        members = self.members.get(group)
        if not members:
            return
        for consumer in list(members):
            try:
                await consumer.deliver(group, message)
            except Exception:
                logger.exception("hub: delivery to one socket failed")
        metrics.count(self.stats, "deliveries", len(members))
        if "frame" in message:
            metrics.BYTES_SENT.inc(len(message["frame"]) * len(members))

    def _in_order(self, message):
        """The frames to hand on now, in `seq` order.

        Two processes publishing to one scope number their events in one
        order but may reach this process in the other; a frame that comes
        early waits up to `reorder_window` for the ones before it, so a race
        between publishers does not cost every subscriber a resync. What is
        still missing after that is a real loss: counted, logged, and left
        to the clients' gap rule.
        """
        group, epoch, seq = message["group"], message["epoch"], message["seq"]
        last = self._last_seq.get(group)
        if last is None or last[0] != epoch:
            released = self._release(group)
            self._last_seq[group] = (epoch, seq)
            return released + [message]
        if seq <= last[1]:
            return [message]  # late: clients have resynced past it
        held = self._held.setdefault(group, {})
        held[seq] = message
        ready = []
        while last[1] + 1 in held:
            ready.append(held.pop(last[1] + 1))
            last = (epoch, last[1] + 1)
        self._last_seq[group] = last
        if held and group not in self._timers:
            self._timers[group] = self.loop.call_later(
                self.reorder_window, lambda: asyncio.ensure_future(self._give_up_waiting(group))
            )
        elif not held:
            self._held.pop(group, None)
            timer = self._timers.pop(group, None)
            if timer is not None:
                timer.cancel()
        return ready

    async def _give_up_waiting(self, group):
        for message in self._release(group):
            await self._fan_out(message)

    def _release(self, group):
        """Called when waiting is over: count what never came, hand on the
        rest in order."""
        timer = self._timers.pop(group, None)
        if timer is not None:
            timer.cancel()
        held = self._held.pop(group, {})
        last = self._last_seq.get(group)
        released = []
        for seq in sorted(held):
            if last is not None and seq > last[1] + 1:
                missed = seq - last[1] - 1
                metrics.count(self.stats, "gaps", missed)
                logger.warning(
                    "hub: %d event(s) of %s lost before reaching this process "
                    "(seq %d -> %d); subscribers will resync",
                    missed, group, last[1], seq,
                )
            last = (held[seq]["epoch"], seq)
            released.append(held[seq])
        if last is not None:
            self._last_seq[group] = last
        return released

    # Heartbeat ----------------------------------------------------------

    async def _sweep(self):
        """Closes sockets whose client sent nothing for 3 heartbeats."""
        interval = settings.STREAMS_HEARTBEAT_INTERVAL
        while True:
            await asyncio.sleep(max(interval / 2, 0.05))
            self.sweep_once(interval)

    def sweep_once(self, interval):
        deadline = self.timer() - 3 * interval
        for consumer in list(self.consumers):
            if consumer.last_seen < deadline:
                metrics.count(self.stats, "heartbeat_timeouts")
                asyncio.ensure_future(consumer.close_quiet_client())

    async def _probe(self):
        interval = settings.STREAMS_LAYER_PROBE_SECONDS
        while True:
            await asyncio.sleep(interval)
            await self.probe_once(2 * interval)

    async def probe_once(self, timeout):
        """Sends the next probe and judges the layer: troubled when a probe
        cannot be sent, or one sent PROBES_LOST ticks ago has not come
        back (lost on the way, as events would have been)."""
        self._probes_sent += 1
        n = self._probes_sent
        self._awaited.add(n)  # before sending: it may come back first
        try:
            await asyncio.wait_for(self.layer.send(self.channel, {"type": PROBE, "n": n}), timeout)
        except Exception as exc:
            self._awaited.discard(n)
            await self._troubled(n, f"a probe could not be sent ({type(exc).__name__})")
        lost = {m for m in self._awaited if m <= n - PROBES_LOST}
        if lost:
            self._awaited -= lost
            await self._troubled(n, f"{len(lost)} probe(s) never came back")
        for group in list(self._undiscarded):
            if group not in self.members:
                self._undiscarded.discard(group)
                await self._discard(group)

    async def _troubled(self, n, why):
        """Closes every socket with 1012, once per outage; the layer counts
        as back when a probe sent after the last trouble returns."""
        self._trouble_at = n
        if not self.layer_ok:
            return
        self.layer_ok = False
        metrics.count(self.stats, "layer_outages")
        logger.error(
            "hub: events may have been lost on the channel layer (%s); closing %d "
            "socket(s) with 1012 so their clients resync", why, len(self.consumers),
        )
        for consumer in list(self.consumers):
            await consumer.close_for_resync()

    def _probe_returned(self, n):
        self._awaited.discard(n)
        if not self.layer_ok and n > self._trouble_at:
            self.layer_ok = True
            logger.warning("hub: the channel layer delivers again")

    async def _recheck(self):
        """The safety net of streams.access: every connection's authority,
        checked again on a timer."""
        while True:
            await asyncio.sleep(settings.STREAMS_AUTH_RECHECK_SECONDS)
            try:
                await access.recheck(list(self.consumers))
            except Exception as exc:
                logger.warning("hub: the authority re-check failed (%s); next in %s s",
                               exc, settings.STREAMS_AUTH_RECHECK_SECONDS)


_hubs = {}


async def get_hub():
    """The hub of the running loop, started on first use. Callers that come
    while it starts wait for it: in a burst of first connections, one that
    joined a group before the hub had its channel got no events at all."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = Hub(loop, get_channel_layer())
        _hubs[loop] = hub
        hub.starting = asyncio.ensure_future(hub.start())
    try:
        await hub.starting
    except Exception:
        if _hubs.get(loop) is hub:
            del _hubs[loop]
        raise
    return hub


def local_hubs():
    """Hubs of this process whose loop still runs (the in-memory layer can
    only reach those)."""
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
