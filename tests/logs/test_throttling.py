"""Floods get 429 with Retry-After; anonymous clients get the stricter
rate. Time is moved with DRF's swappable `timer`, never slept."""

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from logs.models import FrontendLogEntry
from logs.throttling import THROTTLE_CACHE, AnonLogThrottle, UserLogThrottle
from tests.logs.throttle_support import set_rates

pytestmark = pytest.mark.django_db

ENTRY = {"level": "warn", "message": "x"}


@pytest.fixture
def clock(monkeypatch):
    """A clock that only moves when told: `clock.now += 61`."""

    class Clock:
        now = 1_000_000.0

    for throttle in (AnonLogThrottle, UserLogThrottle):
        monkeypatch.setattr(throttle, "timer", staticmethod(lambda: Clock.now))
    return Clock


@pytest.fixture
def rates(settings):
    set_rates(settings, anon="2/min", user="4/min")


@pytest.fixture
def user_client(owner, token_for):
    return APIClient(HTTP_AUTHORIZATION=f"Token {token_for(owner)}")


def test_a_flood_gets_429_with_retry_after(send, rates, clock):
    statuses = [send(ENTRY).status_code for _ in range(3)]

    assert statuses == [202, 202, 429]
    throttled = send(ENTRY)
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"


def test_retry_after_counts_down_and_the_client_gets_back_in(send, rates, clock):
    send(ENTRY), send(ENTRY)
    clock.now += 45

    assert send(ENTRY)["Retry-After"] == "15"
    clock.now += 16
    assert send(ENTRY).status_code == 202


def test_a_throttled_request_stores_nothing(send, rates, clock, frontend_lines):
    send(ENTRY), send(ENTRY)
    send({"level": "error", "message": "flood"})

    assert not FrontendLogEntry.objects.filter(message="flood").exists()
    assert len(frontend_lines()) == 2


def test_anonymous_clients_get_the_stricter_rate(send, rates, clock, user_client):
    anonymous = [send(ENTRY).status_code for _ in range(3)]
    user = [send(ENTRY, client=user_client).status_code for _ in range(5)]

    assert anonymous == [202, 202, 429]
    assert user == [202, 202, 202, 202, 429]


def test_a_forged_forwarded_for_does_not_dodge_the_anonymous_rate(send, rates, clock):
    statuses = [send(ENTRY, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)]

    assert statuses == [202, 202, 429]


def test_rates_are_read_per_request(send, settings, clock):
    """DRF copies its rates at import; ours follow the setting."""
    set_rates(settings, anon="1/min", user="1/min")
    assert [send(ENTRY).status_code for _ in range(2)] == [202, 429]

    set_rates(settings, anon="5/min", user="5/min")
    assert send(ENTRY).status_code == 202


def test_the_history_is_kept_in_the_throttle_cache(send, rates, clock):
    """The cache every server process shares when REDIS_URL is set
    (tests/adversarial/test_log_endpoint.py tries two processes)."""
    send(ENTRY)

    assert caches[THROTTLE_CACHE].get("throttle_logs_anon_127.0.0.1") == [clock.now]
