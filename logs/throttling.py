"""Throttles for `POST /api/logs/`: one rate per user, a stricter one per
address for anonymous clients.

The rates live in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] under the scopes
below and are read on every request: DRF's SimpleRateThrottle copies that
dict at import, so overriding the setting (in a test, say) would do nothing.
The clock is DRF's `timer` class attribute, so tests move time without
sleeping. DRF's cache holds the history: with LocMemCache (the default)
each server process counts on its own.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

ANON_SCOPE = "logs_anon"
USER_SCOPE = "logs_user"


def configured_rate(scope):
    try:
        return api_settings.DEFAULT_THROTTLE_RATES[scope]
    except KeyError:
        raise ImproperlyConfigured(
            f'REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] has no rate for {scope!r}'
        ) from None


class AnonLogThrottle(SimpleRateThrottle):
    """Anonymous clients, counted by address (REMOTE_ADDR, or the
    X-Forwarded-For entry that REST_FRAMEWORK["NUM_PROXIES"] trusts)."""

    scope = ANON_SCOPE

    def get_rate(self):
        return configured_rate(self.scope)

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserLogThrottle(SimpleRateThrottle):
    """Authenticated clients, counted per user over all their tabs."""

    scope = USER_SCOPE

    def get_rate(self):
        return configured_rate(self.scope)

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
