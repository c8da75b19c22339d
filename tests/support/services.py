"""Reaching the real services in tests.

A test that needs Redis or PostgreSQL skips with a clear reason on a machine
without them, and fails under CI (env CI set), where they must be there.
"""

import os
import socket
from urllib.parse import urlparse

import pytest

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"


def _reachable(url):
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=2).close()
        return True
    except OSError:
        return False


def require(what, ok, detail):
    if ok:
        return
    message = f"{what} unreachable ({detail})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must have it", pytrace=False)
    pytest.skip(f"SKIPPED, needs {message}")


def redis_url():
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    require("Redis", _reachable(url), url)
    return url
