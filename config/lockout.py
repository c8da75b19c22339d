"""What django-axes needs from the project to throttle failed logins
(settings, "Login throttling"): the client's address, and the 429.

axes counts failures per username and per address in the throttle cache
(Redis when REDIS_URL is set, so every process counts together) and, past
the limit, refuses even the right password until the cool-off has passed.
"""

from django.conf import settings
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle


def client_address(request):
    """Called by axes for each login attempt: the address the log
    endpoint's throttles count too (REMOTE_ADDR, or the X-Forwarded-For
    entry NUM_PROXIES trusts), so no client-written header can dodge it."""
    return BaseThrottle().get_ident(request)


def locked_out(request, *args, **kwargs):
    """Called by axes instead of the login page's answer once the limit is
    reached (its two call signatures differ, hence *args). `Retry-After`
    is the whole cool-off: the lock began at most that long ago."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": max(1, round(seconds / 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
