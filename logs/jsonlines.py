"""The frontend error log file's format: one JSON object per line.

A browser controls the text it sends, so the line format must not let it
forge a line: json.dumps escapes newlines and every other C0 control
character; the few line breaks and controls it leaves raw when writing UTF-8
(DEL, the C1 controls, U+2028, U+2029) are escaped here too. Only stdlib
imports: the logging config loads this before the apps.
"""

import json
import logging
import re

from config.timestamps import iso_of_epoch

FRONTEND_LOGGER = "frontend"

_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029]")


def _escape(match):
    return f"\\u{ord(match.group()):04x}"


def dumps_line(payload):
    """`payload` as one line of JSON (no newline at the end)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return _RAW_CONTROLS.sub(_escape, text)


class JSONLineFormatter(logging.Formatter):
    """Formats a record as `{"time", "level", "message", ...}` plus the
    fields passed as `extra={"fields": {...}}`."""

    def format(self, record):
        payload = self.payload(record)
        payload.update(getattr(record, "fields", {}))
        return dumps_line(payload)

    def payload(self, record):
        """The fields every line has, before the record's own."""
        return {
            "time": iso_of_epoch(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
        }
