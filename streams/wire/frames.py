"""Client frames (PROTOCOL.md "Client frames"), parsed into typed values.

Everything a client sends is checked here before any work is done for it:
size first (no parse of an oversized frame), then JSON with nesting that
can't exhaust the parser's recursion, then the fields. Each failure is the
protocol error the client is owed, carrying the stream and request_id it
named when they were readable.
"""

import json
from dataclasses import dataclass

from streams.wire import errors

ACTIONS = ("subscribe", "unsubscribe", "ping")


@dataclass(frozen=True)
class Frame:
    action: str
    request_id: object = None
    # As sent: the stream and its params are checked against the registry
    # by the subscription they name (streams.connection.subscriptions).
    stream: object = None
    params: object = None
    # (epoch, seq) of the last event the client applied, when it resumes.
    since: tuple | None = None


def parse(message, max_bytes):
    """The Frame of one `websocket.receive` message, or a ProtocolError."""
    body = _json_object(message.get("text"), max_bytes)
    stream = body.get("stream") if isinstance(body.get("stream"), str) else None
    request_id = body.get("request_id")
    if request_id is not None and (
        isinstance(request_id, bool) or not isinstance(request_id, (str, int))
    ):
        raise errors.InvalidParams("request_id must be a string or an integer", stream=stream)
    action = body.get("action")
    if action not in ACTIONS:
        raise errors.UnknownAction(
            f"unknown action {action!r}; valid actions: {', '.join(ACTIONS)}",
            stream=stream,
            request_id=request_id,
        )
    since = _since(body.get("since"), stream, request_id) if action == "subscribe" else None
    return Frame(action, request_id, body.get("stream"), body.get("params"), since)


def _since(value, stream, request_id):
    """`{"seq": N, "epoch": "E"}` as (E, N); None when absent."""
    if value is None:
        return None
    seq = value.get("seq") if isinstance(value, dict) else None
    epoch = value.get("epoch") if isinstance(value, dict) else None
    if (
        isinstance(seq, bool)
        or not isinstance(seq, int)
        or seq < 0
        or not isinstance(epoch, str)
        or not 0 < len(epoch) <= 64
    ):
        raise errors.InvalidParams(
            'since must be {"seq": <integer >= 0>, "epoch": "<string>"}',
            stream=stream,
            request_id=request_id,
        )
    return epoch, seq


def _json_object(text, max_bytes):
    if text is None:
        raise errors.BadJson("frames must be JSON text, not binary")
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise errors.TooLarge(f"frame is over the {max_bytes // 1024} KiB limit")
    try:
        body = json.loads(text)
    except RecursionError:
        raise errors.BadJson("frame is nested too deeply") from None
    except ValueError as exc:
        raise errors.BadJson(f"frame is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise errors.BadJson("a frame must be a JSON object")
    return body
