"""The coordinator's Prometheus metrics (exposed by streams' /metrics; a
separate run_coordinator's reach it through PROMETHEUS_MULTIPROC_DIR)."""

from prometheus_client import Histogram

TICK_SECONDS = Histogram(
    "trading_coordinator_tick_seconds",
    "One coordinator tick: the market, its streams and every runnable instance",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
