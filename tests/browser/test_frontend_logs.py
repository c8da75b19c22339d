"""Issue 5 in a real page: whatever the dashboard's code logs, only warnings
and errors reach the server, in its frontend error log file and in the
database (`POST /api/logs/` through the page's shared logger, logs/static/
logs/logger.js, served by daphne with a log directory of this module's own)."""

import json
import uuid

import pytest

from config.logging import FRONTEND_FILE
from logs.models import FrontendLogEntry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

LOG_EVERY_LEVEL_AND_FLUSH = """async (marker) => {
    // The same module instance the dashboard's own code logs through.
    const { log } = await import("/static/logs/logger.js")
    log.debug(`${marker} debug`)
    log.info(`${marker} info`)
    log.warn(`${marker} warn`)
    log.error(`${marker} error`, new Error("on purpose"))
    await log.flush()
}"""


def test_a_page_that_logs_at_every_level_leaves_only_warnings_and_errors_on_the_server(
    dashboard, desk, workdir
):
    """DEBUG and INFO never leave the browser; WARN and ERROR are stored
    once each, in the file and in the database, under the logged-in user."""
    marker = f"browser-proof-{uuid.uuid4().hex[:8]}"

    dashboard.page.evaluate(LOG_EVERY_LEVEL_AND_FLUSH, marker)

    path = workdir / "log" / FRONTEND_FILE
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {line["level"] for line in lines} <= {"WARNING", "ERROR", "CRITICAL"}
    ours = [(line["level"], line["message"]) for line in lines if marker in line["message"]]
    assert sorted(ours) == [
        ("ERROR", f"{marker} error Error: on purpose"),
        ("WARNING", f"{marker} warn"),
    ]

    rows = FrontendLogEntry.objects.filter(message__contains=marker)
    assert sorted(rows.values_list("level", "message")) == sorted(ours)
    assert {row.user_id for row in rows} == {desk.user.pk}
    assert not FrontendLogEntry.objects.exclude(level__in=["WARNING", "ERROR", "CRITICAL"]).exists()
