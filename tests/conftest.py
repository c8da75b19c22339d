"""Shared fixtures: the people of the tests and what each may see."""

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token


@pytest.fixture
def owner(db):
    """Owns the trading sessions made by the `trading_session` fixture."""
    return get_user_model().objects.create_user("olivia", password="pw-olivia-123")


@pytest.fixture
def stranger(db):
    """Owns nothing: may see no one else's session."""
    return get_user_model().objects.create_user("sam", password="pw-sam-123")


@pytest.fixture
def staff(db):
    """Staff: may see every session, and subscribe without a session_id."""
    return get_user_model().objects.create_user("stella", password="pw-stella-123", is_staff=True)


@pytest.fixture
def token_for():
    def make(user):
        return Token.objects.get_or_create(user=user)[0].key

    return make


def pytest_configure(config):
    """Worker threads (database_sync_to_async, the publisher) must not keep
    connections open, or the test database cannot be dropped at the end."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Test runs share the machine's Redis: keep each run's channels and
    # counters apart (child processes inherit it through tests.processes).
    settings.STREAMS_NAMESPACE = f"test{os.getpid()}"
    for layer in settings.CHANNEL_LAYERS.values():
        if "prefix" in layer.get("CONFIG", {}):
            layer["CONFIG"]["prefix"] = settings.STREAMS_NAMESPACE
    # A `make run` on this machine must not receive the tests' events.
    settings.STREAMS_RELAY_FILE = settings.VAR_DIR / f"test-relay-{os.getpid()}.json"
    # Hashing test passwords the production way costs ~0.5 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def trading_session(owner):
    """A session owned by `owner`."""
    from trading.models import TradingSession

    return TradingSession.objects.create(name="alpha", owner=owner)


@pytest.fixture
def other_session(stranger):
    """A session owned by `stranger`: `owner` may not see it."""
    from trading.models import TradingSession

    return TradingSession.objects.create(name="bravo", owner=stranger)


def pytest_sessionfinish(session, exitstatus):
    """Remove what this run kept: its var/ (tests/settings.py), and what it
    kept in Redis under its own namespace."""
    from django.conf import settings

    from tests.settings import RUN_PREFIX

    if settings.VAR_DIR.name.startswith(RUN_PREFIX):
        shutil.rmtree(settings.VAR_DIR, ignore_errors=True)

    if not settings.REDIS_URL:
        return
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        keys = list(client.scan_iter(f"{settings.STREAMS_NAMESPACE}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    except redis.RedisError:
        pass  # the tests that needed Redis have already said so
