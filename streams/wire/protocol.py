"""The wire format of PROTOCOL.md version 1: envelopes and close codes.

Every server message is built here, so `stream`, `timestamp` and `data` can
never be missing; their types are declared in streams/wire/messages.py, which
the tests check every emitted message against.
"""

import json

from config.timestamps import now_iso

PROTOCOL_VERSION = 1
SYSTEM = "system"

CLOSE_NORMAL = 1000
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHENTICATED = 4401
CLOSE_HEARTBEAT_TIMEOUT = 4408
CLOSE_RATE_LIMITED = 4429


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
    return message("error", stream, {"code": code, "message": text}, request_id=request_id)
