"""Settings from the environment fail loudly; checks and /healthz."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from config.env import env_bool, env_int, env_list


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("On", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("", False),
    ],
)
def test_booleans_accept_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("FLAG", value)
    assert env_bool("FLAG") is expected


def test_a_bad_boolean_fails_loudly(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_a_bad_integer_fails_loudly(monkeypatch):
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="COUNT='ten' is not an integer"):
        env_int("COUNT", 1)


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS") == ["a.example", "b.example"]


@override_settings(
    DEBUG=False,
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
)
def test_in_memory_layer_without_debug_is_warned_about():
    assert "streams.W001" in [m.id for m in run_checks()]


@override_settings(
    DEBUG=True,
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
)
def test_in_memory_layer_with_debug_is_fine():
    assert "streams.W001" not in [m.id for m in run_checks()]


def test_healthz_reports_database_and_layer_to_staff(client, staff):
    assert client.get("/healthz").json() == {"status": "ok"}
    client.force_login(staff)
    reply = client.get("/healthz")
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["channel_layer"]["ok"]


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_healthz_is_503_when_the_layer_is_down(client, staff):
    reply = client.get("/healthz")
    assert (reply.status_code, reply.json()) == (503, {"status": "unavailable"})
    client.force_login(staff)
    assert client.get("/healthz").json()["channel_layer"]["ok"] is False
