"""Keeps the browser entries worth keeping: WARNING and above.

The one place that decides what is stored, so no view or client can make
the server keep DEBUG or INFO. Kept entries go to the database in one bulk
insert, then to the frontend error log file, one JSON line each; storing
also prunes entries past their retention (logs.retention).
"""

import logging
from dataclasses import dataclass

from config.timestamps import iso
from logs import metrics
from logs.jsonlines import FRONTEND_LOGGER
from logs.models import FrontendLogEntry
from logs.retention import retention
from logs.scrub import scrub, scrub_text

KEPT_LEVELS = frozenset(FrontendLogEntry.Level.values)

frontend_log = logging.getLogger(FRONTEND_LOGGER)


@dataclass(frozen=True)
class Outcome:
    accepted: int
    dropped: int


def _row(entry, user, user_agent):
    return FrontendLogEntry(
        level=entry["level"],
        message=scrub_text(entry["message"]),
        count=entry["count"],
        source=entry["source"],
        url=scrub_text(entry["url"]),
        context=scrub(entry["context"]),
        client_timestamp=entry.get("timestamp"),
        user=user,
        user_agent=user_agent[: FrontendLogEntry._meta.get_field("user_agent").max_length],
    )


def _line_fields(row):
    return {
        "id": row.pk,
        "count": row.count,
        "source": row.source,
        "url": row.url,
        "client_time": iso(row.client_timestamp),
        "user": row.user.get_username() if row.user else None,
        "user_agent": row.user_agent,
        "context": row.context,
    }


def _rows(entries, user, user_agent, budget):
    for entry in entries:
        if entry["level"] in KEPT_LEVELS:
            budget.check()
            yield _row(entry, user, user_agent)


def record(entries, *, budget, user=None, user_agent=""):
    """Stores the WARNING-and-above `entries` (validated, see
    logs.serializers) and returns how many were kept and dropped. Every row
    is scrubbed before any is stored, so a spent `budget` (PayloadTooLarge, 413)
    leaves nothing behind."""
    rows = list(_rows(entries, user, user_agent, budget))
    if rows:
        FrontendLogEntry.objects.bulk_create(rows)
        retention.prune_if_due()
        for row in rows:
            frontend_log.log(
                logging.getLevelNamesMapping()[row.level],
                row.message,
                extra={"fields": _line_fields(row)},
            )
    outcome = Outcome(accepted=len(rows), dropped=len(entries) - len(rows))
    metrics.ENTRIES.labels("accepted").inc(outcome.accepted)
    metrics.ENTRIES.labels("dropped").inc(outcome.dropped)
    return outcome
