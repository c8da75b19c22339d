"""Durations written the way operators type them: `30s`, `15m`, `12h`, `7d`."""

import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DURATION = re.compile(r"(\d+)([smhd])")


def parse_duration(text):
    """The timedelta of `text`; ValueError, saying what is expected, when
    it is not a positive whole number followed by s, m, h or d."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration: use a positive whole number followed by "
            "s, m, h or d (e.g. 7d, 12h, 30m)"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
