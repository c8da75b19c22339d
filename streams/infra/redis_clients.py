"""The one way this project builds Redis clients.

Every pooled connection opened before a Redis restart fails once on its
next use ("Connection closed by server"); redis-py retries only when told
to. Every client here retries a failed command on a fresh connection with
a short backoff, and checks idle connections before use, so a restart
costs latency, not failed requests. What still fails after the retries is
a real outage: callers answer `unavailable`.
"""

import redis
import redis.asyncio
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

RETRIES = 6  # about 3 s of backoff in all: a restart, not an outage


def connection_options(*, for_asyncio=True):
    """Keyword arguments for a connection pool: also what the channel
    layer's host config takes."""
    retry = redis.asyncio.retry.Retry if for_asyncio else redis.retry.Retry
    return {
        "socket_connect_timeout": 2,
        "socket_keepalive": True,
        "health_check_interval": 10,
        "retry_on_error": [ConnectionError, TimeoutError],
        # Cap first: ExponentialBackoff(cap, base).
        "retry": retry(ExponentialBackoff(1.0, 0.05), RETRIES),
    }


def sync_client(url, *, socket_timeout=5, **extra):
    """A thread-safe client for code outside event loops."""
    return redis.Redis.from_url(
        url, socket_timeout=socket_timeout, **connection_options(for_asyncio=False), **extra
    )


def async_client(url, *, max_connections=64, socket_timeout=5, **extra):
    """A client for the running event loop (redis.asyncio clients are bound
    to the loop that made them). The pool waits for a free connection
    rather than raising past `max_connections` (redis-py's default), which
    a burst of 1,000 subscribes would otherwise hit."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=20,
        socket_timeout=socket_timeout,
        **connection_options(),
        **extra,
    )
    return redis.asyncio.Redis(connection_pool=pool)
