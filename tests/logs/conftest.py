"""Frontend logs test helpers: a client for `POST /api/logs/`, a log
directory and a throttle history of the test's own, and chromium
(tests/browser_support.py)."""

import json
import logging.config

import pytest
from rest_framework.test import APIClient

from config.logging import FRONTEND_FILE, build_logging
from config.logging import configure as configure_logging
from tests.logs.throttle_support import fresh_throttling
from tests.support.browser import chromium  # noqa: F401  (fixture)

URL = "/api/logs/"


@pytest.fixture(autouse=True)
def generous_rates(settings):
    """No test is throttled unless it sets its own rates, and each counts
    from zero."""
    fresh_throttling(settings)


@pytest.fixture(autouse=True)
def log_dir(tmp_path, settings):
    """The project's logging, pointed at a directory of this test's own (so
    no test writes to the project's var/log)."""
    configure_logging(build_logging(tmp_path))
    yield tmp_path
    logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def frontend_lines(log_dir):
    """Reads the frontend error log file: its raw lines, without newlines."""

    def read():
        path = log_dir / FRONTEND_FILE
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    return read


@pytest.fixture
def send():
    """POSTs `body` (anything JSON, or raw str/bytes) as application/json,
    anonymously unless given a client."""

    def post(body, client=None, content_type="application/json", **extra):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        client = client or APIClient()
        return client.generic("POST", URL, data, content_type=content_type, **extra)

    return post
