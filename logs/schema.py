"""The OpenAPI description of `POST /api/logs/` (drf-spectacular), kept
apart from the view: what the view cannot say by itself is that its body is
one entry or a batch, and that its errors come from the parser, the
throttles and DRF's authentication.

The body's schema is written here, rule for rule as logs/serializers.py
checks it, and put in place by `request_body_schema` (a drf-spectacular
postprocessing hook): generated from the serializers it was a `oneOf` that
a mixed body matched twice and looser than the server (no level pattern,
no lengths, no item count). The schemathesis test in tests/contracts holds
the two to each other. What JSON Schema cannot say is in the descriptions:
`message`'s limit is in UTF-8 bytes (maxLength, in characters, is implied
by it), and `context`'s size and depth.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from logs.parsers import MAX_BODY_BYTES
from logs.serializers import (
    LEVELS,
    MAX_CONTEXT_BYTES,
    MAX_CONTEXT_DEPTH,
    MAX_COUNT,
    MAX_ENTRIES,
    MAX_MESSAGE_BYTES,
)

# DRF's shape for every error but a validation one.
ERROR_DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})

PATH = "/api/logs/"
# No NUL anywhere (PostgreSQL and the log file can't hold it); lone
# surrogates can't be sent as UTF-8 at all.
STORABLE = "^[^\\u0000]*$"


def _any_case(word):
    return "".join(f"[{letter.upper()}{letter.lower()}]" for letter in word)


def _string(max_length, description, **extra):
    return {
        "type": "string",
        "maxLength": max_length,
        "pattern": STORABLE,
        "description": description,
        **extra,
    }


def _context_value(level):
    return f"FrontendLogContextLevel{level}"


def _context_values():
    """A value inside the context at each level: scalars, and below the
    deepest level arrays and objects of the next level's values."""
    scalars = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
    schemas = {}
    for level in range(MAX_CONTEXT_DEPTH + 1, 1, -1):
        choices = list(scalars)
        if level <= MAX_CONTEXT_DEPTH:
            deeper = {"$ref": f"#/components/schemas/{_context_value(level + 1)}"}
            choices += [
                {"type": "array", "items": deeper},
                {"type": "object", "additionalProperties": deeper},
            ]
        schemas[_context_value(level)] = {"anyOf": choices, "nullable": True}
    return schemas


ENTRY = {
    "type": "object",
    "description": "One browser log entry. Unknown fields are ignored; `entries` makes it a batch.",
    "required": ["level", "message"],
    "properties": {
        "level": {
            "type": "string",
            "pattern": "^(?:" + "|".join(_any_case(name) for name in LEVELS) + ")$",
            "description": "DEBUG, INFO, WARN, WARNING, ERROR or CRITICAL, in any case "
            "of its ASCII letters. DEBUG and INFO are counted and dropped.",
        },
        "message": _string(
            MAX_MESSAGE_BYTES, f"At most {MAX_MESSAGE_BYTES} bytes in UTF-8.", minLength=1
        ),
        "source": _string(100, "Where in the page it was logged."),
        "url": _string(2048, "The page's address."),
        "timestamp": {"type": "string", "format": "date-time"},
        "context": {
            "type": "object",
            "additionalProperties": {"$ref": f"#/components/schemas/{_context_value(2)}"},
            "description": f"Any JSON object of at most {MAX_CONTEXT_BYTES} bytes as JSON, "
            f"nested at most {MAX_CONTEXT_DEPTH} levels deep (this object is level 1). "
            "NUL and lone surrogates in it are stored as U+FFFD.",
        },
        "count": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_COUNT,
            "default": 1,
            "description": "How many identical messages the browser collapsed into this one.",
        },
    },
    "not": {"required": ["entries"]},
}

BATCH = {
    "type": "object",
    "required": ["entries"],
    "additionalProperties": False,
    "properties": {
        "entries": {
            "type": "array",
            "maxItems": MAX_ENTRIES,
            "items": {"$ref": "#/components/schemas/FrontendLogEntry"},
        }
    },
}

BODY = {
    "oneOf": [
        {"$ref": "#/components/schemas/FrontendLogEntry"},
        {"$ref": "#/components/schemas/FrontendLogBatch"},
    ],
    "description": f"One entry, or a batch of at most {MAX_ENTRIES}; at most {MAX_BODY_BYTES} bytes.",
}


def request_body_schema(result, generator, request, public):
    """Called by drf-spectacular once the schema is generated
    (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]): the log endpoint's
    body, required, in place of the placeholder its view declares."""
    operation = result["paths"].get(PATH, {}).get("post")
    if operation is not None:
        result.setdefault("components", {}).setdefault("schemas", {}).update(
            FrontendLogEntry=ENTRY,
            FrontendLogBatch=BATCH,
            FrontendLogBody=BODY,
            **_context_values(),
        )
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/FrontendLogBody"}}
            },
        }
    return result


frontend_log_schema = extend_schema(
    operation_id="frontend_logs_create",
    summary="Store browser log entries",
    description=(
        'One entry, or `{"entries": [...]}` with at most '
        f"{MAX_ENTRIES}. DEBUG and INFO are counted as dropped and never "
        "stored; WARN and above are stored and written to the frontend "
        "error log. A request is taken whole or not at all. Anonymous "
        "clients are welcome at a stricter rate; a session-authenticated "
        "request must carry the CSRF token."
    ),
    request=OpenApiTypes.OBJECT,  # replaced by request_body_schema
    responses={
        202: inline_serializer(
            "FrontendLogAccepted",
            {"accepted": serializers.IntegerField(), "dropped": serializers.IntegerField()},
        ),
        400: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="Not JSON, not UTF-8, or an entry that breaks a rule: an error "
            'per field, e.g. `{"entries": {"3": {"level": ["..."]}}}`; a batch with '
            "other fields beside `entries`. Nothing was stored.",
        ),
        401: OpenApiResponse(
            ERROR_DETAIL, description="An `Authorization: Token` that is not valid."
        ),
        413: OpenApiResponse(
            ERROR_DETAIL,
            description=f"The body is over {MAX_BODY_BYTES} bytes, or checking it took "
            "more than the request's CPU budget.",
        ),
        415: OpenApiResponse(
            ERROR_DETAIL,
            description="Sent as anything but `application/json`, or with a `charset` "
            "other than UTF-8.",
        ),
        429: OpenApiResponse(
            ERROR_DETAIL,
            description="Too many requests from this address (anonymous) "
            "or this user; `Retry-After` says when to try again.",
        ),
    },
    parameters=[
        OpenApiParameter(
            "Retry-After",
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            response=[429],
            description="Seconds to wait.",
        ),
    ],
    tags=["logs"],
)
