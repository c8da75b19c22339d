"""The streams' Prometheus metrics, and the text `GET /metrics` answers with.

Counted where the hub already counts for /healthz (`count` does both), and
once per fan-out rather than once per socket: a fan-out to 1,000 sockets
costs one increment, so the hot path does not notice.

prometheus-client keeps each process's values in its memory. With several
daphne processes on one host, set PROMETHEUS_MULTIPROC_DIR (an empty
directory, made before they start: the library reads it when a metric is
created): each process then writes its values there and any process's
/metrics sums them all, run_coordinator's included.
"""

import atexit
import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# Gauges of a process that ended are left out of the sum ("live").
CONNECTIONS = Gauge(
    "streams_connections",
    "Open authenticated WebSocket connections",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS = Gauge(
    "streams_subscriptions",
    "Subscriptions held, by stream",
    ["stream"],
    multiprocess_mode="livesum",
)
BYTES_SENT = Counter(
    "streams_sent_bytes",
    "Bytes of the frames written to clients (events, replies, snapshots)",
)
RESYNCS = Counter(
    "streams_resyncs",
    "Subscribes with `since`: recovered from the history, or sent a snapshot",
    ["outcome"],
)
PUBLISH_SECONDS = Histogram(
    "streams_publish_seconds",
    "From publish() (on commit) until the channel layer took the event, per scope",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60),
)
SNAPSHOT_BUILD_SECONDS = Histogram(
    "streams_snapshot_build_seconds",
    "Reading and encoding one shared snapshot",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# The hubs' /healthz counters (streams.fanout.hub.stats) that are metrics too.
_COUNTERS = {
    name: Counter(f"streams_{name}", text)
    for name, text in (
        ("deliveries", "Frames handed to local subscribers"),
        ("gaps", "Events lost before reaching this process (its subscribers resync)"),
        ("slow_clients_closed", "Clients closed with 1013 for not reading"),
        ("heartbeat_timeouts", "Clients closed for sending nothing for 3 heartbeats"),
        ("layer_outages", "Times the hub's probes found the channel layer losing messages"),
        ("layer_errors", "Failed reads from the channel layer"),
        ("dispatch_errors", "Messages from the channel layer the hub could not hand on"),
    )
}


def count(stats, name, n=1):
    """Adds `n` to a hub's `stats` and to the metric of the same name."""
    stats[name] += n
    _COUNTERS[name].inc(n)


def exposition():
    """This process's metrics, or every process's on this host when they
    share PROMETHEUS_MULTIPROC_DIR, in Prometheus' text format."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


if os.environ.get(MULTIPROCESS_DIR):
    # Its live gauges stop counting when it ends (SIGTERM included: daphne
    # and run_coordinator exit normally on it).
    atexit.register(mark_process_dead, os.getpid())
