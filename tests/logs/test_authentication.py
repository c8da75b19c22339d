"""Who may post: session (with CSRF), token, or anonymous."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from logs.models import FrontendLogEntry

pytestmark = pytest.mark.django_db

ENTRY = {"level": "error", "message": "x"}
CSRF_SECRET = "a" * 32


@pytest.fixture
def session_client(owner):
    """Logged in with the session cookie, CSRF checked as in a browser."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def test_a_session_post_without_the_csrf_token_is_refused(send, session_client):
    response = send(ENTRY, client=session_client)

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not FrontendLogEntry.objects.exists()


def test_a_session_post_with_the_csrf_token_is_taken_as_the_user(send, session_client, owner):
    session_client.cookies["csrftoken"] = CSRF_SECRET

    response = send(ENTRY, client=session_client, HTTP_X_CSRFTOKEN=CSRF_SECRET)

    assert response.status_code == 202
    assert FrontendLogEntry.objects.get().user == owner


def test_a_token_post_needs_no_csrf_token(send, owner, token_for):
    client = APIClient(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token_for(owner)}")

    response = send(ENTRY, client=client)

    assert response.status_code == 202
    assert FrontendLogEntry.objects.get().user == owner


def test_a_bad_token_is_refused(send):
    client = APIClient(HTTP_AUTHORIZATION="Token not-a-real-key")

    response = send(ENTRY, client=client)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not FrontendLogEntry.objects.exists()


def test_an_anonymous_post_is_taken_without_a_user(send):
    response = send(ENTRY, client=APIClient(enforce_csrf_checks=True))

    assert response.status_code == 202
    assert FrontendLogEntry.objects.get().user is None
