"""A request that spends its CPU budget is refused whole (logs.budget).
The budget's clock is swapped for one that runs fast, so nothing needs to
be slow for real."""

import itertools

import pytest

from logs.budget import CPUBudget
from logs.models import FrontendLogEntry

pytestmark = pytest.mark.django_db

BATCH = {"entries": [{"level": "error", "message": f"m{i}"} for i in range(5)]}


@pytest.fixture
def seconds_per_look(monkeypatch, settings):
    """Each look at the clock finds `seconds` more CPU time spent."""
    settings.LOGS_REQUEST_CPU_MS = 1000

    def run(seconds):
        ticks = itertools.count(step=seconds)
        monkeypatch.setattr(CPUBudget, "clock", staticmethod(lambda: next(ticks)))

    return run


# Five entries validated, then five scrubbed: 0.3 s a look runs out while
# validating, 0.15 s while scrubbing, after every entry was found good.
@pytest.mark.parametrize("seconds", [0.3, 0.15])
def test_a_request_past_its_budget_gets_413_and_keeps_nothing(
    send, seconds_per_look, frontend_lines, seconds
):
    seconds_per_look(seconds)

    response = send(BATCH)

    assert response.status_code == 413
    assert "over 1000 ms of CPU" in response.json()["detail"]
    assert not FrontendLogEntry.objects.exists()
    assert frontend_lines() == []


def test_a_request_within_its_budget_is_taken(send, seconds_per_look):
    seconds_per_look(0.01)

    assert send(BATCH).status_code == 202
