"""Every server message of PROTOCOL.md as a typed model, unknown fields
forbidden: an undeclared field is a schema bug.

The models describe what is sent; messages are still built as plain dicts
on the hot path (a 10,000-instance snapshot is not built through pydantic).
The tests check every message they receive against `validate`, the
AsyncAPI document (streams/wire/asyncapi.py) is generated from these models, and
each registered stream declares the models of its own events and snapshot
(registry.Stream.events / .snapshot_model), so a stream's `data` is typed
as well as its envelope.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from streams.wire import registry


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Data of the connection-level messages ---------------------------------


class Limits(Strict):
    max_subscriptions: int
    max_frame_bytes: int
    frames_per_second: int


class WelcomeData(Strict):
    protocol: Literal[1]
    heartbeat_interval: int
    streams: list[str]
    limits: Limits


class ErrorData(Strict):
    code: Literal[
        "bad_json",
        "unknown_action",
        "unknown_stream",
        "invalid_params",
        "forbidden",
        "too_large",
        "rate_limited",
        "limit_exceeded",
        "unavailable",
        "internal_error",
        "unauthenticated",
    ]
    message: str


class SubscribedData(Strict):
    # Present when the subscribe carried `since`: whether the missed events
    # follow (true) or a full_update does (false).
    recovered: bool | None = None


class UnsubscribedData(Strict):
    # Present when the server ended the subscription itself.
    reason: Literal["forbidden"] | None = None


class Empty(Strict):
    pass


# Envelopes ----------------------------------------------------------------


class Envelope(Strict):
    type: str
    stream: str = Field(min_length=1)
    timestamp: str = Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    data: Any


class Welcome(Envelope):
    type: Literal["welcome"]
    stream: Literal["system"]
    data: WelcomeData


class Pong(Envelope):
    type: Literal["pong"]
    stream: Literal["system"]
    data: Empty
    request_id: str | int | None = None


class Error(Envelope):
    type: Literal["error"]
    data: ErrorData
    request_id: str | int | None = None


class Subscribed(Envelope):
    type: Literal["subscribed"]
    data: SubscribedData
    params: dict
    request_id: str | int | None = None
    session_id: str | None = None


class Unsubscribed(Envelope):
    type: Literal["unsubscribed"]
    data: UnsubscribedData
    params: dict
    request_id: str | int | None = None
    session_id: str | None = None


class Positioned(Envelope):
    """A message with a place in its scope's sequence."""

    seq: int = Field(ge=0)
    epoch: str = Field(min_length=1)
    session_id: str | None = None


class FullUpdate(Positioned):
    type: Literal["full_update"]
    request_id: str | int | None = None


class Event(Positioned):
    """A stream event; its `data` is the model its stream declares."""


SYSTEM_MESSAGES = {
    "welcome": Welcome,
    "pong": Pong,
    "error": Error,
    "subscribed": Subscribed,
    "unsubscribed": Unsubscribed,
}
_adapters = {}


def _check(model, value):
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(model)
    adapter.validate_python(value, strict=False)


def validate(body):
    """Raises pydantic's ValidationError unless `body` is a message the
    protocol and its stream declare, `data` included."""
    type_ = body.get("type") if isinstance(body, dict) else None
    model = SYSTEM_MESSAGES.get(type_)
    if model is not None:
        _check(model, body)
        return
    stream = registry.get(body.get("stream"))
    if type_ == "full_update":
        _check(FullUpdate, body)
        _check(stream.snapshot_model, body["data"])
        return
    data_model = stream.events.get(type_)
    if data_model is None:
        raise ValueError(f"stream {stream.name!r} declares no event {type_!r}")
    _check(Event, dict(body, type=type_))
    _check(data_model, body["data"])


# Client frames (parsed by streams/wire/frames.py; declared here for the AsyncAPI
# document) ------------------------------------------------------------------


class Since(Strict):
    seq: int = Field(ge=0)
    epoch: str = Field(min_length=1, max_length=64)


class Subscribe(Strict):
    action: Literal["subscribe"]
    stream: str
    params: dict = {}
    request_id: str | int | None = None
    since: Since | None = None


class Unsubscribe(Strict):
    action: Literal["unsubscribe"]
    stream: str
    params: dict = {}
    request_id: str | int | None = None


class Ping(Strict):
    action: Literal["ping"]
    request_id: str | int | None = None


CLIENT_FRAMES = {"subscribe": Subscribe, "unsubscribe": Unsubscribe, "ping": Ping}
