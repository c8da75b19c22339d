"""The LOGGING dict: where the server's and the browser's log records go.

A function of the log directory and DEBUG, so settings build it once and
tests can build the same thing for a temporary directory.

- `errors.log`: WARNING and above from every logger (the root's handler;
  Django's, daphne's and the project's loggers all propagate to it), but
  not the 4xx answers Django logs (django.request and django.server log
  each at WARNING, throttled 429s too): those are clients' mistakes, any
  anonymous client can make thousands, and rotation would roll the real
  problems out. They still reach the console.
- `frontend-errors.log`: the browser entries that `POST /api/logs/` keeps,
  one JSON object per line. They do not propagate: a noisy page must never
  bury a server error again.
- the console: INFO and above, DEBUG too when DEBUG is on.

Both files are created private (0600): they hold users' names, addresses
and whatever the browsers sent.

Both rotate by size. RotatingFileHandler rotates per process, so with
several server processes use one file per process or an external logrotate
(copytruncate). Each record reaches the file as one write() on an O_APPEND
file, so on a local filesystem lines from several processes do not
interleave.
"""

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

from logs.jsonlines import FRONTEND_LOGGER

ERRORS_FILE = "errors.log"
FRONTEND_FILE = "frontend-errors.log"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """Opens its file (each new one after a rollover too) readable and
    writable by the server's user only, whatever the umask, and tightens a
    file an older version left readable to others."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


class NoClientErrors(logging.Filter):
    """Drops records of a response with a 4xx status (Django puts the
    status on the record); keeps everything else, 5xx above all."""

    def filter(self, record):
        return not 400 <= getattr(record, "status_code", 0) < 500


def _rotating_file(path, formatter, max_bytes, backups):
    return {
        "class": "config.logging.PrivateRotatingFileHandler",
        "filename": str(path),
        "maxBytes": max_bytes,
        "backupCount": backups,
        "encoding": "utf-8",
        # A character the encoding refuses is written escaped, not lost.
        "errors": "backslashreplace",
        "level": "WARNING",
        "formatter": formatter,
    }


def build_logging(log_dir, debug, *, max_bytes=10 * 1024 * 1024, backups=5):
    """Creates `log_dir` (failing loudly at start-up when it can't) and
    returns the dictConfig for it."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    console_level = "DEBUG" if debug else "INFO"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
            "json_line": {"()": "logs.jsonlines.JSONLineFormatter"},
        },
        "filters": {"no_client_errors": {"()": "config.logging.NoClientErrors"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "level": console_level,
                "formatter": "text",
            },
            "errors_file": {
                **_rotating_file(log_dir / ERRORS_FILE, "text", max_bytes, backups),
                "filters": ["no_client_errors"],
            },
            "frontend_file": _rotating_file(
                log_dir / FRONTEND_FILE, "json_line", max_bytes, backups
            ),
        },
        "root": {"handlers": ["console", "errors_file"], "level": console_level},
        "loggers": {
            # Django's default config gives "django" its own console and
            # mail_admins handlers; clearing them leaves the root's, once.
            # INFO also keeps the SQL of django.db.backends out of DEBUG.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            FRONTEND_LOGGER: {
                "handlers": ["frontend_file"],
                "level": "WARNING",
                "propagate": False,
            },
        },
    }
