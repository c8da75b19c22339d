"""The dashboard page: behind login, and its session selector lists only
the sessions the user may see (the same rule the streams enforce)."""

import pytest
from django.urls import reverse


def session_options(response):
    return [session.pk for session in response.context["sessions"]]


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_owner_sees_only_their_sessions(client, owner, trading_session, other_session):
    client.force_login(owner)
    response = client.get("/")
    assert response.status_code == 200
    assert session_options(response) == [trading_session.pk]
    assert f'<option value="{trading_session.pk}">' in response.content.decode()


def test_staff_sees_every_session(client, staff, trading_session, other_session):
    client.force_login(staff)
    assert session_options(client.get("/")) == [trading_session.pk, other_session.pk]


def test_user_without_sessions_gets_an_empty_selector(client, stranger):
    client.force_login(stranger)
    response = client.get("/")
    assert session_options(response) == []
    assert "No sessions" in response.content.decode()


def test_page_loads_one_module_and_the_stylesheet(client, owner):
    client.force_login(owner)
    html = client.get("/").content.decode()
    assert html.count('type="module"') == 1
    assert "/static/trading/dashboard.js" in html
    assert "/static/trading/dashboard.css" in html


@pytest.mark.django_db
def test_login_page_renders_and_logs_in(client, owner):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "olivia", "password": "pw-olivia-123"})
    assert response.status_code == 302
    assert response.url == "/"


def test_logout_is_a_post(client, owner):
    client.force_login(owner)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302
