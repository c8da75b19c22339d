"""WebSocket authentication and origin policy.

Browsers authenticate with the Django session cookie and always send an
`Origin` header, which must name an allowed host (cross-site WebSocket
hijacking). Scripts and ops clients send `Authorization: Token <key>` (a DRF
token) and usually no Origin; a handshake without Origin cannot come from a
browser page, so it is let through to authentication, which accepts it only
with valid credentials.
"""

from urllib.parse import urlparse

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import is_same_domain, split_domain_port

from streams.db import in_pool


def _header(scope, name):
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class OriginValidator:
    """Refuses a handshake whose Origin is present and not an allowed host."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is not None and not self.allowed(origin):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)

    @staticmethod
    def allowed(origin):
        parsed = urlparse(origin)
        if not parsed.hostname or parsed.scheme not in ("http", "https"):
            return False
        host, _ = split_domain_port(parsed.netloc)
        patterns = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not patterns:
            patterns = [".localhost", "127.0.0.1", "[::1]"]
        return any(pattern == "*" or is_same_domain(host, pattern) for pattern in patterns)


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
            scope = dict(scope, user=user, auth_method="token")
        return await self.application(scope, receive, send)


class ServerSendMiddleware:
    """Keeps the server's own `send` in the scope.

    Channels' session middleware wraps `send` to save sessions, a check paid
    on every frame; events need none of that, so the consumer sends them
    through the server's callable directly (and can see the transport's
    backlog through it).
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        return await self.application(dict(scope, server_send=send), receive, send)


def auth_stack(application):
    return ServerSendMiddleware(
        OriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(application)))
    )
