"""`GET /healthz`: is this process able to serve streams?"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from streams import hub


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


@require_GET
def healthz(request):
    checks = {}
    for name, probe in (("database", _database), ("channel_layer", _channel_layer)):
        try:
            checks[name] = probe()
        except Exception as exc:
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks, "streams": hub.stats()}
    return JsonResponse(body, status=200 if healthy else 503)
