"""The LOGGING dicts: where the server's and the browser's log records go.

Functions of the log directory and level, so settings build them once and
tests can build the same thing for a temporary directory.

Development (`build_logging`):

- `errors.log`: WARNING and above from every logger (the root's handler;
  Django's, daphne's and the project's loggers all propagate to it), but
  not the 4xx answers Django logs (django.request and django.server log
  each at WARNING, throttled 429s too): those are clients' mistakes, any
  anonymous client can make thousands, and rotation would roll the real
  problems out. They still reach the console.
- `frontend-errors.log`: the browser entries that `POST /api/logs/` keeps,
  one JSON object per line. They do not propagate: a noisy page must never
  bury a server error again.
- the console: LOG_LEVEL and above (INFO unless asked).

Both files are created private (0600): they hold users' names, addresses
and whatever the browsers sent.

Both rotate by size. RotatingFileHandler rotates per process, so with
several server processes use one file per process or an external logrotate
(copytruncate). Each record reaches the file as one write() on an O_APPEND
file, so on a local filesystem lines from several processes do not
interleave.

Production (`build_production_logging`): every record goes to stdout as one
JSON object per line, for the service manager's journal, which already
keeps, rotates and ships logs from every process; files per process would
only race each other's rotation. Browser entries are among them, marked
`"logger": "frontend"`, and stay in the database too.

In both, every handler that writes a file or stdout lets a warning through
once per LOG_REPEAT_SECONDS (per logger and message template) and counts
the others (`RepeatedWarnings`): a client can make the server warn as
often as it likes (closed with 1013, refused relay requests, failing
health checks), and each line costs disk and buries the others.

In both, daphne's INFO and DEBUG (its endpoints, every WebSocket frame) stay
out unless LOG_LEVEL is DEBUG: they bury what the project itself says.
"""

import logging
import logging.config
import os
import threading
import time
from collections import OrderedDict
from logging.handlers import RotatingFileHandler
from pathlib import Path

from logs.jsonlines import FRONTEND_LOGGER, JSONLineFormatter

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


class RepeatedWarnings(logging.Filter):
    """Called for each record by every handler it is attached to. The first
    WARNING of a kind (logger and message template, whatever the
    arguments) goes through; more of that kind within `seconds` are
    counted and dropped; the first one after that goes through saying how
    many were dropped before it, and opens the next window. A count is
    thus written when that kind is logged again, not on its own. Other
    levels always pass: an ERROR is never one too many.

    The decision is kept on the record, so handlers sharing this filter
    agree and count each record once. At most `kinds` windows are kept
    (messages formatted before logging are each a kind of their own)."""

    # Swappable, so tests move time without sleeping.
    clock = staticmethod(time.monotonic)

    def __init__(self, seconds=60, kinds=1000):
        super().__init__()
        self.seconds = seconds
        self.kinds = kinds
        self._windows = OrderedDict()  # kind -> [window end, dropped]
        self._lock = threading.Lock()

    def filter(self, record):
        if record.levelno != logging.WARNING:
            return True
        decision = getattr(record, "repeat_decision", None)
        if decision is None:
            decision = record.repeat_decision = self._decide(record)
        return decision

    def _decide(self, record):
        now = self.clock()
        kind = (record.name, str(record.msg))
        with self._lock:
            window = self._windows.get(kind)
            if window is not None and now < window[0]:
                window[1] += 1
                return False
            self._windows[kind] = [now + self.seconds, 0]
            self._windows.move_to_end(kind)
            while len(self._windows) > self.kinds:
                self._windows.popitem(last=False)
        if window is not None and window[1]:
            record.msg = (
                f"{record.getMessage()} ({window[1]} more like this dropped in the "
                f"{self.seconds} s before)"
            )
            record.args = None
        return True


def _repeated_warnings(seconds):
    return {"()": "config.logging.RepeatedWarnings", "seconds": seconds}


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


class ProcessLineFormatter(JSONLineFormatter):
    """A server record as one JSON line: what a journal needs to tell
    processes and loggers apart, and the traceback inside the line rather
    than on lines of its own."""

    def payload(self, record):
        payload = super().payload(record)
        payload.update(logger=record.name, process=record.process)
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return payload


def _loggers(level):
    return {
        # Django's default config gives "django" its own console and
        # mail_admins handlers; clearing them leaves the root's, once.
        # INFO also keeps the SQL of django.db.backends out of DEBUG.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "daphne": {"level": "DEBUG" if level == "DEBUG" else "WARNING"},
        # django-axes announces itself at INFO in every process; its failed
        # logins and lockouts are warnings.
        "axes": {"level": "WARNING"},
    }


def configure(config):
    """Django's LOGGING_CONFIG: called by `django.setup()`. The folders of
    the file handlers are made here, at start-up (failing loudly when they
    can't be), not when the settings are imported."""
    for handler in config.get("handlers", {}).values():
        if "filename" in handler:
            Path(handler["filename"]).parent.mkdir(parents=True, exist_ok=True)
    logging.config.dictConfig(config)


def build_logging(
    log_dir, level="INFO", *, max_bytes=10 * 1024 * 1024, backups=5, repeat_seconds=60
):
    """The dictConfig of development: the console, and the two files in
    `log_dir`."""
    log_dir = Path(log_dir)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
            "json_line": {"()": "logs.jsonlines.JSONLineFormatter"},
        },
        "filters": {
            "no_client_errors": {"()": "config.logging.NoClientErrors"},
            "repeated_warnings": _repeated_warnings(repeat_seconds),
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "level": level,
                "formatter": "text",
                "filters": ["repeated_warnings"],
            },
            "errors_file": {
                **_rotating_file(log_dir / ERRORS_FILE, "text", max_bytes, backups),
                "filters": ["no_client_errors", "repeated_warnings"],
            },
            "frontend_file": _rotating_file(
                log_dir / FRONTEND_FILE, "json_line", max_bytes, backups
            ),
        },
        "root": {"handlers": ["console", "errors_file"], "level": level},
        "loggers": {
            **_loggers(level),
            FRONTEND_LOGGER: {
                "handlers": ["frontend_file"],
                "level": "WARNING",
                "propagate": False,
            },
        },
    }


def build_production_logging(level="INFO", *, repeat_seconds=60):
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json_line": {"()": "config.logging.ProcessLineFormatter"}},
        "filters": {"repeated_warnings": _repeated_warnings(repeat_seconds)},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "level": level,
                "formatter": "json_line",
                "filters": ["repeated_warnings"],
            },
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {**_loggers(level), FRONTEND_LOGGER: {"level": "WARNING"}},
    }
