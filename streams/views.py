"""`GET /healthz`: is this process able to serve streams? And the embedded
mode's relay endpoint (streams/relay.py)."""

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from streams import hub, relay
from streams.db import in_pool
from streams.errors import ProtocolError
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from streams.publish import publish

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "::1"}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def _channel_layer():
    if not settings.REDIS_URL:
        return {"ok": True, "backend": "in-memory"}
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True, "backend": settings.CHANNEL_LAYERS["default"]["BACKEND"]}


def _checks():
    checks = {}
    for name, probe in (("database", _database), ("channel_layer", _channel_layer)):
        try:
            checks[name] = probe()
        except Exception as exc:
            logger.warning("healthz: %s check failed: %s: %s", name, type(exc).__name__, exc)
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return checks


@require_GET
async def healthz(request):
    """Anyone (a load balancer, a probe) gets only `{"status": ...}`: 200
    or 503. The checks' details and the streams' counters are for staff, by
    session or by `Authorization: Token <key>` of a staff user, since an
    error's text names hosts, ports, users and paths. A failing check is
    logged with its error, so the reason is in the server's log too.

    Async, its checks on the streams' worker threads (streams.db): as a
    sync view it ran on a thread made for the request, so every probe
    opened a database connection, and in a flood of other requests it
    queued with them."""
    checks = await in_pool(_checks)()
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    if await sync_to_async(_is_staff)(request):
        body.update(checks, streams=hub.stats())
    return JsonResponse(body, status=200 if healthy else 503)


def _is_staff(request):
    """By session, else by DRF token. With the database down nobody can be
    told apart, so everyone gets the anonymous answer."""
    try:
        user = request.user
        if not user.is_staff:
            by_token = TokenAuthentication().authenticate(request)
            user = by_token[0] if by_token else user
        return user.is_active and user.is_staff
    except (AuthenticationFailed, DatabaseError):
        return False


@csrf_exempt
@require_POST
def relay_event(request):
    """Takes an event from another process of this machine (embedded mode
    only; sealed by streams.relay: signed, fresh, used once) and publishes
    it here."""
    if settings.REDIS_URL:
        raise Http404("the relay only exists without REDIS_URL")
    if request.META.get("REMOTE_ADDR") not in LOOPBACK:
        return JsonResponse({"error": "forbidden"}, status=403)
    try:
        event = relay.unseal(request.body, request.headers.get(relay.SIGNATURE_HEADER))
    except relay.Refused as exc:
        logger.warning("streams relay: refused a request: %s", exc)
        return JsonResponse({"error": "forbidden"}, status=403)
    try:
        publish(event["stream"], event["type"], event["data"],
                conflate_key=event.get("conflate_key"), **event.get("keys", {}))
    except (KeyError, TypeError, ProtocolError) as exc:
        return JsonResponse({"error": f"bad event: {exc}"}, status=400)
    return JsonResponse({"accepted": 1}, status=202)
