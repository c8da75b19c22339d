"""Throttling in tests of `POST /api/logs/`: rates set per test, and a
throttle history of each test's own."""

import uuid

from logs.throttling import THROTTLE_CACHE


def set_rates(settings, anon, user):
    """Sets the throttle rates of `POST /api/logs/` (read per request)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"logs_anon": anon, "logs_user": user},
    }


def count_under(settings, prefix):
    """Points the throttle cache at keys under `prefix`; a fresh prefix is
    an empty history. (Clearing the cache instead would flush the whole
    Redis database when REDIS_URL is set.)"""
    settings.CACHES = {
        **settings.CACHES,
        THROTTLE_CACHE: {**settings.CACHES[THROTTLE_CACHE], "KEY_PREFIX": prefix},
    }


def fresh_throttling(settings):
    """Generous rates and an empty history, kept under this run's
    namespace (which the end of the run deletes from Redis)."""
    set_rates(settings, "10000/min", "10000/min")
    count_under(settings, f"{settings.STREAMS_NAMESPACE}:{uuid.uuid4().hex}")
