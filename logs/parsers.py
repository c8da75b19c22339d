"""A JSON parser that refuses big or pathological bodies before parsing."""

import io

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from logs.exceptions import PayloadTooLarge

MAX_BODY_BYTES = 256 * 1024


class BoundedJSONParser(JSONParser):
    """Reads at most MAX_BODY_BYTES (413 past that), and answers 400 rather
    than 500 when nesting is too deep for the json module's recursion."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(MAX_BODY_BYTES)
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
