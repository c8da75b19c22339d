"""ASGI entry point: HTTP goes to Django, behind the body limit
(config/body_limit.py); WebSockets to the streams consumer. Like manage.py,
it prepares the process's files (config/local_state.py) before Django
starts."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from config.local_state import prepare

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
prepare(settings)
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from config.body_limit import BodyLimit  # noqa: E402
from streams import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {"http": BodyLimit(django_asgi_app), "websocket": websocket_application()}
)
