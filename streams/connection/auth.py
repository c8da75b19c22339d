"""WebSocket authentication and origin policy.

Browsers authenticate with the Django session cookie and always send an
`Origin` header, which must be an allowed origin exactly (cross-site
WebSocket hijacking). Scripts and ops clients send `Authorization: Token <key>` (a DRF
token) and usually no Origin; a handshake without Origin cannot come from a
browser page, so it is let through to authentication, which accepts it only
with valid credentials.
"""

from urllib.parse import urlparse

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host

from streams.connection.transport import ServerSendMiddleware
from streams.infra.db import in_pool


def _header(scope, name):
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class OriginValidator:
    """Refuses a handshake whose Origin is present and not allowed: exactly
    the server's own origin or one listed in STREAMS_ALLOWED_ORIGINS, scheme,
    host and port alike. Another port of an allowed host is another site
    (any app there could ride the victim's cookie), and so is another
    scheme."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is not None and not self.allowed(origin, scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)

    @staticmethod
    def allowed(origin, scope):
        claimed = origin_of(origin)
        if claimed is None:
            return False
        allowed = {origin_of(item) for item in settings.STREAMS_ALLOWED_ORIGINS}
        return claimed in allowed or claimed == own_origin(scope)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(text):
    """(scheme, host, port) of an origin, default ports filled in; None for
    anything that is not an http(s) origin ("null", a path, garbage)."""
    try:
        parsed = urlparse(text.strip().lower())
        port = parsed.port
    except ValueError:
        return None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.hostname:
        return None
    if parsed.path not in ("", "/") or parsed.query or parsed.username or parsed.password:
        return None
    return parsed.scheme, parsed.hostname, port or _DEFAULT_PORTS[parsed.scheme]


def own_origin(scope):
    """The origin of the page this server serves at the handshake's Host,
    if that host is one it serves (ALLOWED_HOSTS)."""
    host = _header(scope, b"host")
    if not host or not validate_host(split_domain_port(host)[0], _allowed_hosts()):
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return origin_of(f"{scheme}://{host}")


def _allowed_hosts():
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


@in_pool
def _user_for_token(key):
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


class TokenAuthMiddleware:
    """`Authorization: Token <key>` wins over the session cookie; a header
    with a bad token leaves the connection anonymous (it gets 4401)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        header = _header(scope, b"authorization")
        if header is not None:
            scheme, _, key = header.partition(" ")
            if scheme.lower() == "token" and key.strip():
                user = await _user_for_token(key.strip())
            else:
                user = AnonymousUser()
            scope = dict(scope, user=user, auth_method="token", auth_token=key.strip())
        return await self.application(scope, receive, send)


def auth_stack(application):
    return ServerSendMiddleware(
        OriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(application)))
    )
