"""The wire format of PROTOCOL.md version 1: envelopes, close codes, schemas.

Every server message is built here, so `stream`, `timestamp` and `data` can
never be missing. The schemas are data (`SERVER_MESSAGES`) that the tests
check every emitted message against: an undeclared field is a bug.
"""

import json
from datetime import datetime, timezone

PROTOCOL_VERSION = 1
SYSTEM = "system"

CLOSE_NORMAL = 1000
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHENTICATED = 4401
CLOSE_HEARTBEAT_TIMEOUT = 4408
CLOSE_RATE_LIMITED = 4429

# type -> (required fields, optional fields) beyond the envelope's own.
_ENVELOPE = {"type", "stream", "timestamp", "data"}
_EVENT = {"seq", "epoch"}
SERVER_MESSAGES = {
    "welcome": (set(), set()),
    "pong": (set(), {"request_id"}),
    "error": (set(), {"request_id", "session_id"}),
    "subscribed": ({"params"}, {"request_id", "session_id"}),
    "unsubscribed": ({"params"}, {"request_id", "session_id"}),
    "full_update": (_EVENT, {"request_id", "session_id"}),
}
# Every stream event (instance_added, ticker, ...) has this shape.
EVENT_FIELDS = (_EVENT, {"session_id"})


def now_iso():
    return iso(datetime.now(timezone.utc))


def message(type_, stream, data=None, **extra):
    """Build one server message; `extra` carries request_id, seq, epoch, ..."""
    body = {
        "type": type_,
        "stream": stream or SYSTEM,
        "timestamp": now_iso(),
        "data": {} if data is None else data,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def encode(body):
    return json.dumps(body, separators=(",", ":"), default=str)


def encode_with_data(body, data_text):
    """`body` encoded with `data_text`, already JSON, as its data: a shared
    snapshot is encoded once, however many envelopes carry it."""
    return encode(dict(body, data={})).replace('"data":{}', '"data":' + data_text, 1)


def error(code, text, *, stream=None, request_id=None):
    return message(
        "error", stream, {"code": code, "message": text}, request_id=request_id
    )


def check_shape(body):
    """Return a list of problems with one server message (empty when valid)."""
    problems = []
    missing = _ENVELOPE - body.keys()
    if missing:
        problems.append(f"missing {sorted(missing)}")
    if not isinstance(body.get("stream"), str) or not body.get("stream"):
        problems.append("stream must be a non-empty string")
    if not isinstance(body.get("data"), dict):
        problems.append("data must be an object")
    required, optional = SERVER_MESSAGES.get(body.get("type"), EVENT_FIELDS)
    absent = required - body.keys()
    if absent:
        problems.append(f"{body.get('type')} lacks {sorted(absent)}")
    unknown = body.keys() - _ENVELOPE - required - optional
    if unknown:
        problems.append(f"{body.get('type')} has undeclared {sorted(unknown)}")
    return problems


def iso(moment):
    """A datetime as PROTOCOL.md writes times (UTC, milliseconds). On the
    snapshot's hot path: 10,000 instances format 20,000 of these."""
    if moment is None:
        return None
    if moment.utcoffset():
        moment = moment.astimezone(timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        moment.year, moment.month, moment.day,
        moment.hour, moment.minute, moment.second, moment.microsecond // 1000,
    )
