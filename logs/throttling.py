"""Throttles for `POST /api/logs/`: one rate per user, a stricter one per
address for anonymous clients.

The rates live in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] under the scopes
below and are read on every request: DRF's SimpleRateThrottle copies that
dict at import, so overriding the setting (in a test, say) would do nothing.
The clock is DRF's `timer` class attribute, so tests move time without
sleeping.

The history is kept in the cache named THROTTLE_CACHE (settings.CACHES):
Redis when REDIS_URL is set, so every server process counts a client
together; DRF's default, a per-process memory cache, let N processes take N
times the rate.

Behind a reverse proxy, REMOTE_ADDR is the proxy's: set
REST_FRAMEWORK["NUM_PROXIES"] (env NUM_PROXIES) to the number of proxies
whose X-Forwarded-For is trusted, or start daphne with --proxy-headers.
Otherwise every anonymous client shares one bucket, and one flood shuts
everybody's logging out.
"""

from functools import cache

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from logs import metrics

ANON_SCOPE = "logs_anon"
USER_SCOPE = "logs_user"
THROTTLE_CACHE = "throttle"


def configured_rate(scope):
    try:
        return api_settings.DEFAULT_THROTTLE_RATES[scope]
    except KeyError:
        raise ImproperlyConfigured(
            f'REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] has no rate for {scope!r}'
        ) from None


@cache
def _throttle_cache():
    """One cache object per process. Django keeps one per context, which
    under ASGI is one per request: each request made its own Redis
    connection pool and connected again. Redis clients are thread-safe."""
    return caches.create_connection(THROTTLE_CACHE)


@receiver(setting_changed)
def _follow_caches_setting(*, setting, **kwargs):
    """A test that overrides CACHES gets a throttle cache built from it."""
    if setting == "CACHES":
        _throttle_cache.cache_clear()


class LogThrottle(SimpleRateThrottle):
    # Looked up on use, so settings are not read at import.
    @property
    def cache(self):
        return _throttle_cache()

    def get_rate(self):
        return configured_rate(self.scope)

    def throttle_failure(self):
        metrics.THROTTLED.inc()
        return super().throttle_failure()


class AnonLogThrottle(LogThrottle):
    """Anonymous clients, counted by address (REMOTE_ADDR, or the
    X-Forwarded-For entry that REST_FRAMEWORK["NUM_PROXIES"] trusts)."""

    scope = ANON_SCOPE

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserLogThrottle(LogThrottle):
    """Authenticated clients, counted per user over all their tabs."""

    scope = USER_SCOPE

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
