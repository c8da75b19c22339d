"""The frontend log endpoint's Prometheus metrics: a flood shows up here
before the database or the journal fills."""

from prometheus_client import Counter

ENTRIES = Counter(
    "logs_frontend_entries",
    "Browser log entries received: accepted (stored) or dropped (below WARNING)",
    ["outcome"],
)
THROTTLED = Counter("logs_frontend_throttled_requests", "POST /api/logs/ requests refused with 429")
