"""The threads that do the work of `POST /api/logs/` under ASGI.

Django runs a sync view under ASGI with sync_to_async(thread_sensitive=True),
on a thread made for each request. So each log request opened a database
connection of its own (PostgreSQL forks a backend per connection) and a
flood put one thread per request in the queue for the GIL, ahead of the
dashboard and /healthz. On LOGS_WORKERS long-lived threads instead, a
connection serves request after request (CONN_MAX_AGE) and a flood waits
for a free worker, not for the GIL.

A WSGI request, the test client's included, already runs on a thread of
its own: its work stays there, on that thread's connection (and in a
test's transaction).
"""

from concurrent.futures import ThreadPoolExecutor
from functools import cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections


@cache
def _workers():
    return ThreadPoolExecutor(max_workers=settings.LOGS_WORKERS, thread_name_prefix="logs")


def _on_fresh_connections(func, *args):
    """Django's request signals close a connection past CONN_MAX_AGE or
    broken by an error, but only on the request's own thread; a worker
    does it around each call itself."""
    close_old_connections()
    try:
        return func(*args)
    finally:
        close_old_connections()


async def serve(func, request):
    """`func(request)`, on a worker for an ASGI request."""
    if isinstance(request, ASGIRequest):
        return await sync_to_async(
            _on_fresh_connections, thread_sensitive=False, executor=_workers()
        )(func, request)
    return await sync_to_async(func)(request)
