"""Attacks with request bodies on every HTTP path: bodies too big to take,
charsets that buy CPU, and form charsets that turned a 400 into a 500 with
a traceback per request. Made as an anonymous client would."""

import json
import logging
import logging.config
import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.asgi import application
from config.logging import ERRORS_FILE, build_logging
from config.logging import configure as configure_logging
from logs.budget import CPUBudget
from logs.models import FrontendLogEntry
from tests.logs.throttle_support import fresh_throttling

pytestmark = pytest.mark.django_db

LOGS = "/api/logs/"
LOGIN_PATHS = ["/accounts/login/", "/admin/login/", "/accounts/logout/"]
CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def unthrottled(settings):
    fresh_throttling(settings)


def http_scope(path, headers):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("203.0.113.9", 40000),
        "server": ("127.0.0.1", 8080),
    }


class Body:
    """What daphne would hand the application: `chunks` body messages of
    CHUNK bytes, counted as they are taken."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.taken = 0

    async def receive(self):
        if self.taken >= self.chunks:
            return {"type": "http.disconnect"}
        self.taken += 1
        more = self.taken < self.chunks
        return {"type": "http.request", "body": b"a" * CHUNK, "more_body": more}


async def call(path, headers, body):
    """(status, body) of the whole ASGI application for one request."""
    sent = []

    async def send(message):
        sent.append(message)

    await application(http_scope(path, headers), body.receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    content = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], content


@pytest.mark.parametrize("path", [LOGS, "/accounts/login/", "/no-such-page/"])
async def test_a_declared_200_mb_body_is_refused_before_any_of_it_is_read(settings, path):
    """Threat: memory. Django read a 200 MB body whole before any view
    could refuse it (RSS 115 -> 320 MiB per request through daphne)."""
    settings.HTTP_MAX_BODY_BYTES = 1024 * 1024
    body = Body(chunks=200 * 1024 * 1024 // CHUNK)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"209715200")]

    status, content = await call(path, headers, body)

    assert status == 413
    assert json.loads(content) == {"detail": "The request body is over 1048576 bytes."}
    assert body.taken == 0


@pytest.mark.parametrize("path", [LOGS, "/accounts/login/"])
async def test_a_chunked_body_is_read_no_further_than_the_limit(settings, path):
    """Threat: the same without a Content-Length (a chunked body): it was
    read to its end, however long."""
    settings.HTTP_MAX_BODY_BYTES = 1024 * 1024
    body = Body(chunks=64)  # 4 MiB
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]

    status, _ = await call(path, headers, body)

    assert status == 413
    assert body.taken == 1024 * 1024 // CHUNK + 1


def test_a_body_at_the_limit_still_reaches_the_log_endpoints_own_cap(settings):
    """The ASGI limit sits above the endpoint's 256 KiB: a body between
    the two gets the endpoint's own reason."""
    settings.HTTP_MAX_BODY_BYTES = 1024 * 1024
    body = json.dumps({"level": "error", "message": "x" * (512 * 1024)})

    response = APIClient().generic("POST", LOGS, body, content_type="application/json")

    assert response.status_code == 413
    assert "over 262144 bytes" in response.json()["detail"]


def largest_log_body():
    """A 256 KiB body of many short entries: the most text a charset could
    be asked to decode."""
    entries = [{"level": "error", "message": "é" * 40} for _ in range(100)]
    text = json.dumps({"entries": entries, "padding": "x" * (250 * 1024)})
    return text.encode("utf-8")


@pytest.mark.parametrize("charset", ["punycode", "latin-1", "utf-16", "utf-7", "idna"])
def test_a_json_body_in_any_charset_but_utf8_is_415_without_decoding_it(charset):
    """Threat: CPU. The parser decoded with whatever codec `charset`
    named: punycode on 256 KB cost 3.5 s of CPU before any check ran, and
    an anonymous client may send 20 a minute."""
    body = largest_log_body()

    started = time.thread_time()
    response = APIClient().generic(
        "POST", LOGS, body, content_type=f"application/json; charset={charset}"
    )
    spent = time.thread_time() - started

    assert response.status_code == 415
    assert "UTF-8" in response.json()["detail"]
    assert spent < 0.2
    assert not FrontendLogEntry.objects.exists()


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_a_json_body_declared_utf8_is_taken(charset):
    body = json.dumps({"level": "error", "message": "naïve"}).encode()

    response = APIClient().generic(
        "POST", LOGS, body, content_type=f"application/json; charset={charset}"
    )

    assert response.status_code == 202
    assert FrontendLogEntry.objects.get().message == "naïve"


def test_bytes_that_are_not_utf8_are_a_400():
    response = APIClient().generic(
        "POST", LOGS, b'{"level": "error", "message": "\xe9"}', content_type="application/json"
    )

    assert response.status_code == 400
    assert not FrontendLogEntry.objects.exists()


def test_decoding_and_parsing_count_against_the_cpu_budget(monkeypatch, settings):
    """Threat: work before the budget. The budget was first looked at
    while validating, so a body that failed the first field check was
    never weighed against it, however long its parsing took."""
    settings.LOGS_REQUEST_CPU_MS = 500
    spent = iter([0.0, 2.0])  # created, then looked at after the parse
    monkeypatch.setattr(CPUBudget, "clock", staticmethod(lambda: next(spent, 2.0)))

    response = APIClient().generic(
        "POST", LOGS, json.dumps({"level": 5, "message": "x"}), content_type="application/json"
    )

    assert response.status_code == 413
    assert "over 500 ms of CPU" in response.json()["detail"]


@pytest.fixture
def errors_log(tmp_path, settings):
    """The project's logging into this test's directory; yields errors.log's
    path and the records every logger produced."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    configure_logging(build_logging(tmp_path))
    keep = Keep(level=logging.WARNING)
    logging.getLogger().addHandler(keep)
    yield tmp_path / ERRORS_FILE, records
    logging.getLogger().removeHandler(keep)
    logging.config.dictConfig(settings.LOGGING)


@pytest.mark.parametrize("path", LOGIN_PATHS)
@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/x-www-form-urlencoded; charset=utf8",
        "multipart/form-data; boundary=b; charset=punycode",
    ],
)
def test_a_form_post_in_another_charset_is_a_clean_400(errors_log, path, content_type):
    """Threat: error-log flooding. With any made-up `csrftoken` cookie,
    each such POST was a 500 and a ~37 KB chained traceback at ERROR
    (Django's 400 handler read the form again): 1,400 anonymous requests
    rolled every real error out of errors.log."""
    errors_file, records = errors_log
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies["csrftoken"] = "x" * 32
    body = b"username=a&password=b&csrfmiddlewaretoken=" + b"x" * 32

    response = client.generic("POST", path, body, content_type=content_type)

    assert response.status_code == 400
    assert b"must be UTF-8" in response.content
    assert all(record.exc_info is None for record in records), records
    assert all(record.levelno < logging.ERROR for record in records), records
    assert "Traceback" not in (errors_file.read_text() if errors_file.exists() else "")


def test_a_multipart_form_in_a_slow_charset_costs_no_cpu():
    """Threat: CPU again. Django decodes multipart fields with the declared
    charset: one 256 KB field in punycode cost 2.0 s of CPU, on any form
    path, before CSRF refused the request."""
    field = b"a" * (256 * 1024)
    body = b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\n' + field
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32

    started = time.thread_time()
    response = client.generic(
        "POST",
        "/accounts/login/",
        body + b"\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b; charset=punycode",
    )
    spent = time.thread_time() - started

    assert response.status_code == 400
    assert spent < 0.2
