from channels.routing import URLRouter
from django.urls import re_path

from streams.connection.auth import auth_stack
from streams.connection.consumer import StreamConsumer


def websocket_application():
    return auth_stack(URLRouter([re_path(r"^ws/?$", StreamConsumer.as_asgi())]))
