"""Attacks on the two login pages (`/accounts/login/`, `/admin/login/`):
password guessing, one account from many addresses or many accounts from
one address, and from several server processes at once."""

import time
import uuid
from datetime import timedelta

import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.test import Client

from tests.logs.throttle_support import count_under, fresh_throttling
from tests.support.processes import manage
from tests.support.services import require

pytestmark = pytest.mark.django_db

LIMIT = 3
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


def counting_anew():
    """axes keeps the cache it was built with: give it the current one."""
    AxesProxyHandler.get_implementation(force=True)


@pytest.fixture(autouse=True)
def throttled(settings):
    """A low limit and an empty history (a key prefix of this test's own)."""
    fresh_throttling(settings)
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    counting_anew()
    yield
    counting_anew()


def log_in(path, username, password, address="203.0.113.5"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": username, "password": password})
    return response, client


def logged_in(client):
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_guessing_a_password_stops_at_the_limit_and_the_right_one_is_refused_too(path, staff):
    """Threat: unlimited guessing. 200 wrong passwords for one user took
    95 s, all answered 200, and the right one straight after logged in."""
    statuses = [log_in(path, "stella", f"guess-{n}")[0].status_code for n in range(LIMIT + 2)]

    response, client = log_in(path, "stella", "pw-stella-123")

    # The failure that reaches the limit is the first one refused.
    assert statuses == [200] * (LIMIT - 1) + [429] * 3
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert b"Too many failed logins" in response.content
    assert not logged_in(client)


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_one_account_guessed_from_many_addresses_is_throttled(path, staff):
    """Threat: a botnet, every guess from another address."""
    for n in range(LIMIT):
        log_in(path, "stella", f"guess-{n}", address=f"198.51.100.{n}")

    response, client = log_in(path, "stella", "pw-stella-123", address="192.0.2.200")

    assert response.status_code == 429
    assert not logged_in(client)


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_many_accounts_guessed_from_one_address_are_throttled(path, staff):
    """Threat: credential stuffing, one guess per account."""
    for n in range(LIMIT):
        log_in(path, f"user-{n}", "password1")

    response, client = log_in(path, "stella", "pw-stella-123")

    assert response.status_code == 429
    assert not logged_in(client)


def test_a_forwarded_for_header_does_not_buy_a_fresh_address(staff):
    for n in range(LIMIT):
        Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").post(
            "/accounts/login/", {"username": f"user-{n}", "password": "x"}
        )

    response, _ = log_in("/accounts/login/", "stella", "pw-stella-123")

    assert response.status_code == 429


def test_the_right_password_works_again_once_the_window_has_passed(settings, staff):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for n in range(LIMIT):
        log_in("/accounts/login/", "stella", f"guess-{n}")
    assert log_in("/accounts/login/", "stella", "pw-stella-123")[0].status_code == 429

    time.sleep(1.2)
    response, client = log_in("/accounts/login/", "stella", "pw-stella-123")

    assert response.status_code == 302
    assert logged_in(client)


CHILD_FAILS_TWICE = """
from django.test import Client
for n in range(2):
    Client(REMOTE_ADDR="203.0.113.77", HTTP_HOST="localhost").post(
        "/accounts/login/", {"username": "stella", "password": f"child-{n}"}
    )
"""


def test_failures_in_another_server_process_count_too(settings, staff):
    """Threat: counts per process. N daphne processes would each allow
    the limit, N times the guesses."""
    require("Redis", settings.REDIS_URL, "REDIS_URL is not set")
    # The child's throttle cache is <namespace>:throttle, as a server's is.
    namespace = f"{settings.STREAMS_NAMESPACE}:{uuid.uuid4().hex}"
    count_under(settings, f"{namespace}:throttle")
    counting_anew()

    child = manage(
        "shell",
        "--no-imports",
        "-c",
        CHILD_FAILS_TWICE,
        LOGIN_FAILURE_LIMIT=LIMIT,
        STREAMS_NAMESPACE=namespace,
    )
    assert child.returncode == 0, child.stderr
    log_in("/accounts/login/", "stella", "third-guess", address="198.51.100.9")

    response, client = log_in("/accounts/login/", "stella", "pw-stella-123")
    assert response.status_code == 429
    assert not logged_in(client)
