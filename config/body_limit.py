"""The largest request body daphne hands to Django: HTTP_MAX_BODY_BYTES.

Wraps Django's ASGI application (config/asgi.py) and is called for every
HTTP request. Django reads a request's whole body before any middleware or
view runs (into memory, past 2.5 MB into a temporary file), so a view's own
cap, the log endpoint's 256 KiB, was applied after the server had taken in
whatever a client sent. Here a declared `Content-Length` over the limit is
answered 413 before a byte of the body is asked for; a body without one
(chunked) is passed on until it goes past the limit, then Django is told
the client left (it stops reading and answers nothing) and the client gets
the 413.

What it cannot cover: daphne (Twisted) receives the whole body before it
calls the application at all (to a temporary file past 100 kB) and then
queues all of it as body messages, read or not. That memory is spent
before this runs; only something in front of daphne (nginx's
`client_max_body_size`) or `manage.py serve`'s socket-level limit
(config/http_limits.py) stops it. README, "Security model".
"""

import json

from django.conf import settings


def declared_length(scope):
    """The request's `Content-Length` as a number, or None (absent, or not
    a number: daphne has refused those already)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class _CountedBody:
    """`receive` for Django, counting body bytes; past `limit` it answers
    `http.disconnect`, which Django takes as a client gone."""

    def __init__(self, receive, limit):
        self.receive = receive
        self.limit = limit
        self.received = 0
        self.exceeded = False

    async def __call__(self):
        if self.exceeded:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                return {"type": "http.disconnect"}
        return message


class BodyLimit:
    """ASGI middleware in front of Django's HTTP application."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        limit = settings.HTTP_MAX_BODY_BYTES
        length = declared_length(scope)
        if length is not None and length > limit:
            await refuse(send, limit)
            return
        body = _CountedBody(receive, limit)
        await self.app(scope, body, send)
        if body.exceeded:
            await refuse(send, limit)


async def refuse(send, limit):
    """413 with DRF's error shape, so API clients read it like the others."""
    content = json.dumps({"detail": f"The request body is over {limit} bytes."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
