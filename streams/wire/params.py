"""Parsers for the params streams share (session_id, symbol).

They raise InvalidParams with a message naming the field, so a client learns
exactly what to fix.
"""

import re

from streams.wire.errors import InvalidParams

_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,29}$")


def check_keys(raw, allowed):
    unknown = set(raw) - set(allowed)
    if unknown:
        raise InvalidParams(
            f"unknown params {sorted(unknown)}; allowed: {sorted(allowed) or 'none'}"
        )


def session_id(raw, *, required):
    value = raw.get("session_id")
    if value is None:
        if required:
            raise InvalidParams("params.session_id is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidParams("params.session_id must be a string id")
    text = str(value).strip()
    if not text.isdigit() or len(text) > 18 or int(text) <= 0:
        raise InvalidParams(f"params.session_id {value!r} is not a valid id")
    return str(int(text))


def symbol(raw):
    value = raw.get("symbol")
    if value is None:
        return None
    if not isinstance(value, str) or not _SYMBOL_RE.match(value.upper()):
        raise InvalidParams("params.symbol must be a symbol like BTCUSDT (letters, digits, . _ -)")
    return value.upper()
