"""A JSON parser that refuses big or pathological bodies before parsing,
and numbers the rest of the server can't hold."""

import json
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from logs.exceptions import PayloadTooLarge

MAX_BODY_BYTES = 256 * 1024


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a number")
    return value


class BoundedJSONParser(JSONParser):
    """Reads at most MAX_BODY_BYTES (413 past that), and answers 400 rather
    than 500 when nesting is too deep for the json module's recursion.

    The body is decoded as UTF-8, the only encoding of JSON (RFC 8259): a
    client-named codec could be a slow one (`punycode` cost 3.5 s of CPU on
    256 KB). The view refuses any other `charset` with 415 before this runs.

    Every number is finite: `NaN` and `Infinity` are not JSON, and a
    literal like `1e400` overflows to infinity, which PostgreSQL's jsonb,
    SQLite's JSON check and the log file's JSON all refuse (it was a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The request body is over {MAX_BODY_BYTES} bytes", "too_large")
        try:
            text = body.decode("utf-8")
            return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
