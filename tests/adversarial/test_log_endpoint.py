"""Attacks on `POST /api/logs/` (PROTOCOL.md, "Frontend logs (HTTP)"), made
the way an anonymous client on the internet would make them."""

import json
import logging
import logging.config
import stat
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from config.logging import ERRORS_FILE, FRONTEND_FILE, build_logging
from config.logging import configure as configure_logging
from logs.jsonlines import FRONTEND_LOGGER
from logs.models import FrontendLogEntry
from logs.parsers import MAX_BODY_BYTES
from logs.retention import retention
from logs.serializers import MAX_MESSAGE_BYTES
from tests.logs.throttle_support import count_under, fresh_throttling, set_rates
from tests.support.processes import manage
from tests.support.services import require

pytestmark = pytest.mark.django_db

URL = "/api/logs/"


@pytest.fixture(autouse=True)
def unthrottled(settings):
    """Only the throttling tests meet a throttle, each with its own history."""
    fresh_throttling(settings)


# Texts that made the old scrubbing patterns rescan a run from each of its
# word starts, or that push a lookahead or a keyword alternation hardest;
# the last one gives every pattern something to look at.
WORST_TEXTS = [
    "a-",
    "-",
    "=",
    "a",
    "eyJ-",
    "password-",
    "x-token",
    "token ",
    "eyJa.",
    "bearer =",
    "Authorization token bearer eyJ password secret api-key session-id a-",
]


def post_json(body, client=None, **extra):
    client = client or APIClient()
    return client.post(URL, json.dumps(body), content_type="application/json", **extra)


def worst_batch():
    """As many entries of the worst texts as fit in the largest body
    accepted, each message at its size limit."""
    entries = []
    while True:
        text = WORST_TEXTS[len(entries) % len(WORST_TEXTS)]
        message = (text * MAX_MESSAGE_BYTES)[:MAX_MESSAGE_BYTES]
        candidate = [*entries, {"level": "error", "message": message}]
        if len(json.dumps({"entries": candidate})) > MAX_BODY_BYTES:
            return {"entries": entries}
        entries = candidate


def test_a_max_size_batch_of_pathological_messages_is_scrubbed_fast():
    """Threat: quadratic secret scrubbing. One 8 KiB `a-a-a-...` message
    cost 1.6 s of CPU on the process's only sync thread; a full body of
    them held every other request for over a minute."""
    batch = worst_batch()
    client = APIClient()
    post_json({"level": "info", "message": "warm-up"}, client)  # builds the middleware

    # CPU time of this thread (the one the view runs on), which other
    # processes busy on the machine hardly change; wall time would.
    started = time.thread_time()
    response = post_json(batch, client)
    spent = time.thread_time() - started

    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == len(batch["entries"]) > 20
    assert spent < 0.5


@pytest.mark.parametrize(
    "content_type",
    # No type at all (the test client's ""), what a page on another site
    # may send without a CORS preflight (a form, `fetch(..., {mode:
    # "no-cors"})`), and the wildcards DRF's own negotiation reads as JSON.
    [
        "",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/*",
        "*/*",
    ],
)
def test_a_cross_site_post_without_json_content_type_stores_nothing(content_type):
    """Threat: cross-site writes. A body with no Content-Type was read as
    JSON, so any web page could make its visitors' browsers store entries
    (`fetch(url, {method: "POST", mode: "no-cors", body})`)."""
    body = json.dumps({"level": "error", "message": "planted by another site"})

    response = APIClient().generic("POST", URL, body, content_type=content_type)

    assert response.status_code == 415
    assert not FrontendLogEntry.objects.exists()


def test_a_forged_count_is_refused_with_a_field_error():
    """Threat: a faked `count`. One anonymous entry could claim a million
    identical messages and skew every report made from the table."""
    response = post_json({"level": "error", "message": "x", "count": 1_000_000})

    assert response.status_code == 400
    assert response.json() == {"count": ["Ensure this value is less than or equal to 1000."]}
    assert not FrontendLogEntry.objects.exists()


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" + "0" * 5000]
)
def test_a_number_the_server_cannot_hold_is_a_400(number):
    """Threat: non-finite numbers. `1e400` parses to infinity, which no
    store takes: it was a 500 (and a traceback in errors.log) per request."""
    body = f'{{"level": "error", "message": "x", "context": {{"n": {number}}}}}'

    response = APIClient().generic("POST", URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")
    assert not FrontendLogEntry.objects.exists()


def test_nesting_past_the_parsers_recursion_is_a_400():
    """Threat: deep nesting, which makes the json module recurse until
    RecursionError (a 500 if left uncaught)."""
    body = '{"level": "error", "message": "x", "context": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = APIClient().generic("POST", URL, body, content_type="application/json")

    assert response.status_code == 400
    assert not FrontendLogEntry.objects.exists()


CHILD_POSTS_TWICE = """
from django.test import Client
client = Client(REMOTE_ADDR="203.0.113.7", HTTP_HOST="localhost")
body = '{"level": "debug", "message": "from the other process"}'
print([client.post("/api/logs/", body, content_type="application/json").status_code
       for _ in range(2)])
"""


def test_two_server_processes_count_an_anonymous_client_together(settings):
    """Threat: throttles counted per process. In DRF's default cache (local
    memory) each daphne process kept its own count, so two processes let
    a client send twice the anonymous rate, N processes N times."""
    require("Redis", settings.REDIS_URL, "REDIS_URL is not set")
    # As a server process started now has it: its settings would read this
    # run's namespace (tests/conftest.py renames it after settings load).
    count_under(settings, f"{settings.STREAMS_NAMESPACE}:throttle")
    set_rates(settings, anon="2/min", user="2/min")

    child = manage("shell", "--no-imports", "-c", CHILD_POSTS_TWICE, LOGS_THROTTLE_ANON="2/min")

    assert child.stdout.strip() == "[202, 202]", child.stderr
    response = post_json({"level": "debug", "message": "x"}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429


@pytest.fixture
def log_dir(tmp_path, settings):
    """The project's logging, writing to a directory of this test's own."""
    configure_logging(build_logging(tmp_path, max_bytes=2000, backups=2))
    yield tmp_path
    logging.config.dictConfig(settings.LOGGING)


def test_anonymous_404s_and_429s_stay_out_of_errors_log(log_dir, settings, monkeypatch):
    """Threat: errors.log flooding. Django logs every 4xx at WARNING, so
    an anonymous client's 404s and 429s filled errors.log and rotation
    rolled the real errors out of it. A 500 must still land there."""
    set_rates(settings, anon="1/min", user="1/min")
    client = APIClient(raise_request_exception=False)
    for n in range(30):
        assert client.get(f"/no-such-page-{n}/").status_code == 404
        client.post(URL, "{}", content_type="application/json")
    assert client.post(URL, "{}", content_type="application/json").status_code == 429

    set_rates(settings, anon="100/min", user="100/min")
    monkeypatch.setattr(FrontendLogEntry.objects, "bulk_create", lambda rows: 1 / 0)
    assert post_json({"level": "error", "message": "x"}, client).status_code == 500

    text = "".join(path.read_text() for path in log_dir.glob(f"{ERRORS_FILE}*"))
    assert "Not Found" not in text
    assert "Bad Request" not in text
    assert "Too Many Requests" not in text
    assert "Internal Server Error: /api/logs/" in text
    assert "ZeroDivisionError" in text


def test_log_files_are_private_from_creation_and_after_rotation(log_dir):
    """Threat: readable log files. errors.log and frontend-errors.log hold
    user names, addresses and what browsers sent; under a 022 umask they
    were created readable by every local user."""
    for n in range(20):  # past max_bytes: both files roll over
        logging.getLogger("some.library").error("server problem %d %s", n, "x" * 200)
        logging.getLogger(FRONTEND_LOGGER).error("browser problem %d %s", n, "x" * 200)

    files = sorted(log_dir.glob("*.log*"))
    assert {f.name for f in files} >= {ERRORS_FILE, FRONTEND_FILE, f"{ERRORS_FILE}.1"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_entries_past_the_retention_are_deleted_without_a_cron(settings, monkeypatch):
    """Threat: unbounded growth. Anonymous clients can store entries
    forever, and only a `prune_logs` someone remembered to schedule ever
    deleted them: the table and its disk grew without end."""
    settings.LOGS_RETENTION_DAYS = 30
    for n in range(3):
        assert post_json({"level": "error", "message": f"planted {n}"}).status_code == 202
    # A month and a day pass (the rows age; the process's clock moves on).
    FrontendLogEntry.objects.update(received_at=timezone.now() - timedelta(days=31))
    monkeypatch.setattr(retention, "clock", lambda: timezone.now() + timedelta(days=1))
    monkeypatch.setattr(retention, "due", retention.due)  # restored afterwards

    post_json({"level": "error", "message": "today"})

    assert list(FrontendLogEntry.objects.values_list("message", flat=True)) == ["today"]


def test_anonymous_sources_never_become_links_on_the_admin_page(admin_client):
    """Threat: planted links. `source` was a list filter, so two anonymous
    POSTs put 100 attacker-chosen `?source=` links on staff's log list."""
    for batch in range(2):
        entries = [
            {"level": "error", "message": "x", "source": f"https://evil.example/{batch}-{n}"}
            for n in range(50)
        ]
        assert post_json({"entries": entries}).status_code == 202

    page = admin_client.get("/admin/logs/frontendlogentry/").content.decode()
    found = admin_client.get("/admin/logs/frontendlogentry/?q=evil.example%2F1-7")

    assert "?source=" not in page
    assert "evil.example/1-7" in found.content.decode()
    assert found.context["cl"].result_count == 1


@pytest.mark.parametrize(
    "extra",
    [{"level": "ERROR", "message": "b"}, {"message": "b"}, {"source": "x"}, {"anything": 1}],
)
def test_a_body_mixing_the_batch_and_one_entry_forms_is_refused_whole(extra):
    """Threat: a silent drop. `{"entries": [a], "level", "message": "b"}`
    was 202 `{"accepted": 1}`: entry "b" vanished, though a request is
    taken whole or not at all."""
    body = {"entries": [{"level": "ERROR", "message": "a"}], **extra}

    response = post_json(body)

    assert response.status_code == 400
    assert set(response.json()) == set(extra)
    assert not FrontendLogEntry.objects.exists()


@pytest.mark.parametrize("level", [" error", "error\n", "ınfo", "ERROR\u200b"])
def test_a_level_is_matched_exactly_in_any_ascii_case(level):
    """Threat: a schema looser than the server, or the reverse: the server
    stripped spaces and upper-cased any letter ("ınfo" -> "INFO"), which
    the document's pattern does not allow."""
    assert post_json({"level": level, "message": "x"}).status_code == 400
    assert post_json({"level": "eRrOr", "message": "x"}).status_code == 202


@pytest.mark.parametrize("count", ["5", 5.0, True])
def test_a_count_must_be_an_integer(count):
    assert post_json({"level": "error", "message": "x", "count": count}).status_code == 400
