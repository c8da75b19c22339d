"""Many browsers posting at once: no entry lost, no file line interleaved."""

import json
import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from logs.models import FrontendLogEntry

THREADS = 20
PER_REQUEST = 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_lose_no_entry_and_interleave_no_line(send, frontend_lines):
    """Real commits from 20 threads at once (SQLite queues the writers on
    its lock, PostgreSQL runs them side by side); long messages make an
    interleaved write show up as a broken line."""
    start = threading.Barrier(THREADS)
    statuses = []
    padding = "x" * 6000

    def post(thread):
        try:
            batch = [
                {"level": "error", "message": f"t{thread}-e{i} {padding}"}
                for i in range(PER_REQUEST)
            ]
            start.wait()
            statuses.append(send({"entries": batch}, client=APIClient()).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [202] * THREADS
    expected = {f"t{t}-e{i} {padding}" for t in range(THREADS) for i in range(PER_REQUEST)}
    assert set(FrontendLogEntry.objects.values_list("message", flat=True)) == expected
    lines = frontend_lines()
    assert len(lines) == THREADS * PER_REQUEST
    assert {json.loads(line)["message"] for line in lines} == expected
