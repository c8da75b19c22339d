"""The jobs that look over every socket of an event loop, on its hub's
timers: sockets whose client went quiet are closed (4408), and every
socket's authority is checked again (streams/connection/access.py).

Installed by the loop's first socket (`install`), so the hub, which knows
sockets only as the members it hands frames to, never imports the
connection side.
"""

import time

from django.conf import settings

from streams.connection import access
from streams.infra import metrics


class Clock:
    """When a socket last heard from its client; a class attribute so tests
    move time without sleeping."""

    timer = staticmethod(time.monotonic)


def install(hub):
    """Called by each socket once it has its loop's hub; the first starts
    the sweeps."""
    if hub.swept:
        return
    hub.swept = True
    interval = settings.STREAMS_HEARTBEAT_INTERVAL
    hub.every(max(interval / 2, 0.05), lambda: close_quiet(hub, interval))
    hub.every(settings.STREAMS_AUTH_RECHECK_SECONDS, lambda: access.recheck(list(hub.consumers)))


def close_quiet(hub, interval):
    """Closes the sockets whose client sent nothing for 3 heartbeats."""
    deadline = Clock.timer() - 3 * interval
    for consumer in list(hub.consumers):
        if consumer.last_seen < deadline:
            metrics.count(hub.stats, "heartbeat_timeouts")
            hub.spawn(consumer.close_quiet_client())
