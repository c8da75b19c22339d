"""The actor of an HTTP request's writes (trading/actors.py)."""

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

from trading import actors


@sync_and_async_middleware
def request_actor(get_response):
    """Makes the request's user the author of the state moves it makes:
    `admin:<username>` in the admin, `api:<username>` anywhere else (the
    REST API). Both sync and async, so it costs daphne no thread hop."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            with actors.acting_as(lambda: of_request(request)):
                return await get_response(request)

    else:

        def middleware(request):
            with actors.acting_as(lambda: of_request(request)):
                return get_response(request)

    return middleware


def of_request(request):
    """Called when a move is recorded, not when the request arrives: DRF
    authenticates a token inside the view (and sets `request.user` then)."""
    match = request.resolver_match
    if match is not None and "admin" in match.app_names:
        return actors.admin(request.user)
    return actors.api(request.user)
