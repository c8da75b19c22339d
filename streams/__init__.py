"""streams: the WebSocket streams protocol of docs/protocol.md, as a library
that knows no stream by name. Other apps use what is named here and nothing
else (tests/streams/test_boundaries.py holds them to it); how the inside is
laid out, and which code runs where, is docs/architecture.md.

Registering a stream, from an app's `AppConfig.ready()`:

    from streams import Forbidden, InvalidParams, Stream, params, register
    register(Stream(name="prices", parse_params=..., scope=..., routes=...,
                    authorize=..., snapshot=...))

Publishing, from any process (a view, a command, a thread, a running loop):

    publish_on_commit("prices", "tick", data, symbol="BTC")  # after COMMIT
    publish("prices", "tick", data, symbol="BTC")            # now
    new_epoch("prices", symbol="BTC")   # its subscribers must resync
    recheck_user(user_id)  # a change may have taken a user's rights away
    flush(timeout)         # a command about to exit waits for its events

Serving: `websocket_application()` is the ASGI app of `/ws`. A stream's
message models derive from `Strict`. `StreamClient` follows a stream from
Python with the protocol's reconnect and resume rules.

Names are imported on first use, so `import streams` (settings, app
loading) pulls in nothing that needs Django's app registry.
"""

from importlib import import_module

_EXPORTS = {
    # Registering streams, and the errors their callables raise.
    "Stream": "streams.wire.registry:Stream",
    "register": "streams.wire.registry:register",
    "params": "streams.wire.params",
    "Forbidden": "streams.wire.errors:Forbidden",
    "InvalidParams": "streams.wire.errors:InvalidParams",
    "Strict": "streams.wire.messages:Strict",
    # Publishing.
    "publish": "streams.publishing.publish:publish",
    "publish_on_commit": "streams.publishing.publish:publish_on_commit",
    "new_epoch": "streams.publishing.publish:new_epoch",
    "flush": "streams.publishing.publish:flush",
    "recheck_user": "streams.publishing.controls:recheck_user",
    # The embedded mode's relay (issue 18 replaces it with the outbox).
    "unheard": "streams.publishing.relay:unheard",
    "relay_failures": "streams.publishing.relay:relay_failures",
    "announce_server": "streams.publishing.relay:announce_server",
    "withdraw_server": "streams.publishing.relay:withdraw_server",
    # Serving.
    "websocket_application": "streams.connection.routing:websocket_application",
    "get_hub": "streams.fanout.hub:get_hub",
    # Redis, for an app's own stores beside the streams'.
    "connection_options": "streams.infra.redis_clients:connection_options",
    "sync_client": "streams.infra.redis_clients:sync_client",
    "PerSettings": "streams.infra.stores:PerSettings",
    # A Python client of the protocol.
    "StreamClient": "streams.client:StreamClient",
    "StreamEnded": "streams.client:StreamEnded",
    "SignedOut": "streams.client:SignedOut",
    "Unreachable": "streams.client:Unreachable",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'streams' has no attribute {name!r}")
    # "module:name" is a name in a module; a bare "module", the module.
    module, _, attribute = where.partition(":")
    value = import_module(module)
    if attribute:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__():
    return __all__
