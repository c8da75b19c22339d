"""`POST /api/logs/` with good input: what is kept, where, and the reply."""

import json

import pytest
from rest_framework.test import APIClient

from logs.models import FrontendLogEntry

pytestmark = pytest.mark.django_db

MIXED = [
    {"level": "DEBUG", "message": "render took 3 ms"},
    {"level": "info", "message": "panel mounted"},
    {"level": "WARN", "message": "socket reconnecting", "source": "ws", "context": {"attempt": 2}},
    {"level": "warning", "message": "slow frame"},
    {"level": "Error", "message": "TypeError: x is undefined", "url": "http://127.0.0.1:8080/"},
    {"level": "CRITICAL", "message": "store corrupted"},
]


def test_it_keeps_only_warn_and_above_of_a_mixed_batch(send, frontend_lines):
    response = send({"entries": MIXED})

    assert response.status_code == 202
    assert response.json() == {"accepted": 4, "dropped": 2}
    kept = ["socket reconnecting", "slow frame", "TypeError: x is undefined", "store corrupted"]
    stored = FrontendLogEntry.objects.order_by("id")
    assert [entry.message for entry in stored] == kept
    assert [entry.level for entry in stored] == ["WARNING", "WARNING", "ERROR", "CRITICAL"]
    lines = [json.loads(line) for line in frontend_lines()]
    assert [line["message"] for line in lines] == kept
    assert [line["level"] for line in lines] == ["WARNING", "WARNING", "ERROR", "CRITICAL"]


def test_it_drops_debug_entries(send, frontend_lines):
    response = send(
        {"entries": [{"level": "debug", "message": "x"}, {"level": "INFO", "message": "y"}]}
    )

    assert response.json() == {"accepted": 0, "dropped": 2}
    assert not FrontendLogEntry.objects.exists()
    assert frontend_lines() == []


def test_it_takes_a_single_entry_without_a_batch(send, frontend_lines):
    response = send({"level": "error", "message": "boom", "source": "dashboard"})

    assert (response.status_code, response.json()) == (202, {"accepted": 1, "dropped": 0})
    assert FrontendLogEntry.objects.get().source == "dashboard"
    assert len(frontend_lines()) == 1


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_it_takes_json_with_parameters_in_any_case(send, content_type):
    response = send({"level": "warn", "message": "x"}, content_type=content_type)

    assert response.status_code == 202


def test_it_keeps_every_field_of_an_entry(send, owner, token_for, frontend_lines):
    client = APIClient(
        HTTP_AUTHORIZATION=f"Token {token_for(owner)}", HTTP_USER_AGENT="Firefox/140"
    )
    send(
        {
            "level": "ERROR",
            "message": "chart failed",
            "source": "dashboard",
            "url": "http://127.0.0.1:8080/sessions/1",
            "timestamp": "2025-03-01T12:00:00.250Z",
            "context": {"panel": "chart", "ids": [1, 2]},
            "count": 7,
        },
        client=client,
    )

    entry = FrontendLogEntry.objects.get()
    assert (entry.user, entry.user_agent, entry.count) == (owner, "Firefox/140", 7)
    assert entry.context == {"panel": "chart", "ids": [1, 2]}
    assert entry.client_timestamp.isoformat() == "2025-03-01T12:00:00.250000+00:00"
    line = json.loads(frontend_lines()[0])
    assert line["user"] == "olivia"
    assert line["id"] == entry.id
    assert line["client_time"] == "2025-03-01T12:00:00.250Z"  # the one time format
    assert line["context"] == {"panel": "chart", "ids": [1, 2]}


def test_it_stores_a_batch_with_one_insert(send, django_assert_num_queries):
    send({"level": "warn", "message": "the first store may prune (logs.retention)"})
    batch = {"entries": [{"level": "warn", "message": f"m{i}"} for i in range(20)]}

    with django_assert_num_queries(1):
        response = send(batch)

    assert response.json() == {"accepted": 20, "dropped": 0}


def test_it_scrubs_secrets_before_storing(send, frontend_lines):
    send(
        {
            "level": "error",
            "message": "fetch failed: Authorization: Bearer abc.def.ghi",
            "url": "http://127.0.0.1:8080/?access_token=s3cr3t&page=2",
            "context": {"password": "hunter2", "headers": {"Authorization": "Token k"}, "n": 1},
        }
    )

    entry = FrontendLogEntry.objects.get()
    assert entry.message == "fetch failed: Authorization: [scrubbed]"
    assert entry.url == "http://127.0.0.1:8080/?access_token=[scrubbed]&page=2"
    assert entry.context == {
        "password": "[scrubbed]",
        "headers": {"Authorization": "[scrubbed]"},
        "n": 1,
    }
    assert "hunter2" not in frontend_lines()[0]
    assert "s3cr3t" not in frontend_lines()[0]


def test_it_keeps_a_forged_newline_inside_its_json_line(send, frontend_lines):
    forged = 'real problem\n{"time":"2025-01-01T00:00:00Z","level":"ERROR","message":"forged"}'
    send({"level": "warn", "message": forged, "context": {"note": "a\r\nb\u2028c\x1b[31m"}})

    lines = frontend_lines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["message"] == forged
    assert line["context"] == {"note": "a\r\nb\u2028c\x1b[31m"}
    for raw in ("\r", "\u2028", "\x1b"):
        assert raw not in lines[0]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", ""])
def test_it_refuses_a_body_of_another_type_or_none(send, content_type):
    response = send('{"level": "warn", "message": "x"}', content_type=content_type)

    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert not FrontendLogEntry.objects.exists()


def test_only_post_is_allowed(client):
    assert client.get("/api/logs/").status_code == 405
