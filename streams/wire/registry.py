"""The registry of valid streams: data, not an if-chain.

Apps register their streams from `AppConfig.ready()`; the consumer looks a
stream up by name and asks it to parse params, authorize, name its group and
take its snapshot. `streams` itself knows no stream by name.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from streams.wire.errors import UnknownStream


@dataclass(frozen=True)
class Stream:
    """How one stream behaves.

    parse_params(raw: dict) -> dict: normalized params, or raise InvalidParams.
    scope(params) -> str: the scope a subscription listens to (one group).
    routes(keys: dict) -> list[str]: the scopes an event published with
        `keys` (session_id=..., symbol=...) goes to.
    authorize(user, params): raise Forbidden or InvalidParams; runs in a
        worker thread, so it may query the database.
    authorize_many(users, params) -> set of the users' pks allowed: the same
        rule as `authorize` for many users at once (optional; the periodic
        authority check uses it so its cost doesn't grow per socket).
    snapshot(params) -> dict: the `full_update` data, or None for a stream
        without one; runs in a worker thread. It depends on the scope only
        (`authorize` decides who may see it), so subscribers of one scope
        at one seq share a single snapshot (streams.fanout.snapshots).
    events: {event type: pydantic model of its `data`}, what the stream
        sends besides `full_update` (streams.wire.messages checks against it).
    snapshot_model: the pydantic model of the `full_update` data.
    conflate: seconds within which events with the same conflation key are
        merged, latest wins (0: never); or a zero-argument callable returning
        them, so a window taken from settings is read when events flow, not
        at registration.
    """

    name: str
    parse_params: Callable[[dict], dict]
    scope: Callable[[dict], str]
    routes: Callable[[dict], list]
    authorize: Callable
    snapshot: Callable | None = None
    authorize_many: Callable | None = None
    events: dict = field(default_factory=dict)
    snapshot_model: type | None = None
    conflate: float | Callable[[], float] = 0.0
    session_scoped: bool = False

    def conflate_seconds(self):
        return self.conflate() if callable(self.conflate) else self.conflate

    def session_of(self, keys):
        """The `session_id` its messages carry on the envelope (PROTOCOL.md),
        from an event's keys or a subscription's params; None unless the
        stream is session-scoped."""
        return keys.get("session_id") if self.session_scoped else None


_streams = {}


def register(stream):
    if stream.name in _streams and _streams[stream.name] != stream:
        raise ValueError(f"stream {stream.name!r} is already registered")
    _streams[stream.name] = stream
    return stream


def get(name):
    try:
        return _streams[name]
    except (KeyError, TypeError):
        raise UnknownStream(
            f"unknown stream {name!r}; valid streams: {', '.join(names())}",
            stream=name if isinstance(name, str) else None,
        ) from None


def names():
    return sorted(_streams)
