"""System checks: the throttle rates of `POST /api/logs/` must be readable
at start-up, not on the first request."""

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from logs.throttling import AnonLogThrottle, UserLogThrottle


@register()
def throttle_rates(app_configs, **kwargs):
    errors = []
    for throttle_class in (AnonLogThrottle, UserLogThrottle):
        try:
            throttle_class()  # reads and parses the rate
        except (ImproperlyConfigured, ValueError, KeyError, IndexError, AttributeError) as exc:
            scope = throttle_class.scope
            errors.append(
                Error(
                    f"The throttle rate of {scope!r} is missing or unreadable ({exc!r}).",
                    hint=f'Set REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["{scope}"], e.g. "20/min".',
                    id="logs.E001",
                )
            )
    return errors
