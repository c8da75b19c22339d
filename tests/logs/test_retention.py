"""Stored entries past LOGS_RETENTION_DAYS go as new ones come in, at most
once per PRUNE_EVERY per process (logs.retention). Time moves with the
retention's swappable clock, never by sleeping."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from logs.models import FrontendLogEntry
from logs.retention import PRUNE_EVERY, retention
from tests.support.processes import ROOT

pytestmark = pytest.mark.django_db

WARN = {"level": "warn", "message": "new"}


@pytest.fixture
def clock(monkeypatch, settings):
    """The retention's clock, moved by hand; a process that never pruned."""
    settings.LOGS_RETENTION_DAYS = 30

    class Clock:
        now = timezone.now()

    monkeypatch.setattr(retention, "clock", lambda: Clock.now)
    monkeypatch.setattr(retention, "due", None)
    return Clock


def stored(message, days_ago, n=1):
    FrontendLogEntry.objects.bulk_create(
        FrontendLogEntry(
            level="WARNING", message=message, received_at=timezone.now() - timedelta(days=days_ago)
        )
        for _ in range(n)
    )


def messages():
    return sorted(FrontendLogEntry.objects.values_list("message", flat=True))


def test_storing_deletes_entries_past_the_retention_only(send, clock):
    stored("old", days_ago=31)
    stored("recent", days_ago=29)

    send(WARN)

    assert messages() == ["new", "recent"]


def test_it_prunes_at_most_once_per_interval(send, clock):
    send(WARN)  # prunes; the next prune is due PRUNE_EVERY later
    stored("old", days_ago=31)

    clock.now += PRUNE_EVERY - timedelta(seconds=1)
    send(WARN)
    assert "old" in messages()

    clock.now += timedelta(seconds=1)
    send(WARN)
    assert "old" not in messages()


def test_after_a_full_batch_it_prunes_again_on_the_next_store(send, clock, monkeypatch):
    monkeypatch.setattr(retention, "batch_size", 2)
    stored("old", days_ago=31, n=5)

    left = []
    for _ in range(4):
        send(WARN)
        left.append(messages().count("old"))

    assert left == [3, 1, 0, 0]
    assert retention.due == clock.now + PRUNE_EVERY


def test_a_prune_with_nothing_old_is_one_indexed_query(clock, django_assert_num_queries):
    with django_assert_num_queries(1) as queries:
        retention.prune_if_due()

    assert '"received_at" <' in queries.captured_queries[0]["sql"]


def test_a_request_that_stores_nothing_does_not_prune(send, clock, django_assert_num_queries):
    with django_assert_num_queries(0):
        send({"level": "debug", "message": "dropped"})


@pytest.mark.parametrize("value", ["0", "-3", "thirty"])
def test_a_bad_retention_fails_loudly_at_start_up(value):
    started = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={"PATH": "/usr/bin:/bin", "LOGS_RETENTION_DAYS": value},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "LOGS_RETENTION_DAYS" in started.stderr
