"""ASGI entry point: HTTP goes to Django, behind the body limit
(config/body_limit.py); WebSockets to the streams consumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from config.body_limit import BodyLimit  # noqa: E402
from streams import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {"http": BodyLimit(django_asgi_app), "websocket": websocket_application()}
)
