"""Under ASGI the endpoint's work runs on the logs workers (logs.workers),
not on the thread Django makes for each request."""

import threading

import pytest
from channels.db import database_sync_to_async as db
from django.test import AsyncClient

from logs import views
from logs.models import FrontendLogEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recording_threads(monkeypatch):
    """The name of each thread that records entries."""
    names = []
    record = views.record

    def spy(*args, **kwargs):
        names.append(threading.current_thread().name)
        return record(*args, **kwargs)

    monkeypatch.setattr(views, "record", spy)
    return names


async def test_an_asgi_request_is_served_by_a_worker(recording_threads):
    body = {"entries": [{"level": "error", "message": f"m{i}"} for i in range(3)]}

    response = await AsyncClient().post("/api/logs/", body, content_type="application/json")

    assert (response.status_code, response.json()) == (202, {"accepted": 3, "dropped": 0})
    assert [name.split("_")[0] for name in recording_threads] == ["logs"]
    assert await db(FrontendLogEntry.objects.count)() == 3


async def test_a_worker_answers_bad_input_as_the_view_does(recording_threads):
    response = await AsyncClient().post("/api/logs/", "{", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
