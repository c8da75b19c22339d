"""`GET /healthz`: is this process able to serve streams? `GET /metrics`:
how well is it doing? The embedded mode's relay endpoint
(streams/publishing/relay.py), and the protocol's AsyncAPI document."""

import hmac
import ipaddress
import logging

import yaml
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from streams.fanout import hub
from streams.infra import metrics as stream_metrics
from streams.infra.db import in_pool
from streams.publishing import relay
from streams.publishing.publish import publish
from streams.wire import asyncapi
from streams.wire.errors import ProtocolError

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "::1"}
# Headers a reverse proxy adds: a request that has one came through it, and
# its REMOTE_ADDR (the proxy's, often loopback) says nothing of the client.
FORWARDED = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_REAL_IP")


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

    Async, its checks on the streams' worker threads (streams.infra.db): as a
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


@require_GET
async def metrics(request):
    """Prometheus' scrape, for a holder of METRICS_TOKEN (`Authorization:
    Bearer <token>`) or a scraper on METRICS_ALLOWED_NETWORKS talking to
    daphne directly; 403 for anyone else. Async: the sync views' one thread
    may be busy with a slow request, and a scrape must not wait for it."""
    if not _may_scrape(request):
        return HttpResponseForbidden(
            "metrics: send the bearer token, or scrape from an allowed network"
        )
    return HttpResponse(stream_metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


def _may_scrape(request):
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer":
        return hmac.compare_digest(given.strip().encode(), token.encode())
    if any(header in request.META for header in FORWARDED):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@csrf_exempt
@require_POST
def relay_event(request):
    """Takes an event from another process of this machine (embedded mode
    only; sealed by streams.publishing.relay: signed, fresh, used once) and publishes
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
        publish(
            event["stream"],
            event["type"],
            event["data"],
            conflate_key=event.get("conflate_key"),
            **event.get("keys", {}),
        )
    except (KeyError, TypeError, ProtocolError) as exc:
        return JsonResponse({"error": f"bad event: {exc}"}, status=400)
    return JsonResponse({"accepted": 1}, status=202)


@require_GET
def asyncapi_document(request):
    """The WebSocket protocol in AsyncAPI 3, for this host (public, like
    the OpenAPI schema: it describes the protocol, not anyone's data)."""
    text = yaml.safe_dump(asyncapi.document(request.get_host()), sort_keys=False)
    return HttpResponse(text, content_type="application/yaml")
