"""How long kept browser entries live: LOGS_RETENTION_DAYS.

The recorder prunes as it stores, so the table stays bounded with no cron
job to forget; `manage.py prune_logs` remains for a one-off sweep of any
age. Deletes go in batches found through the received_at index, so no
request or command holds a big table's lock for long.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from logs.models import FrontendLogEntry

BATCH_SIZE = 5000
PRUNE_EVERY = timedelta(minutes=10)


def delete_batch(cutoff, batch_size=BATCH_SIZE):
    """Deletes up to `batch_size` entries received before `cutoff`;
    returns how many it deleted."""
    old = FrontendLogEntry.objects.filter(received_at__lt=cutoff).order_by()
    pks = list(old.values_list("pk", flat=True)[:batch_size])
    if not pks:
        return 0
    return FrontendLogEntry.objects.filter(pk__in=pks).delete()[0]


class Retention:
    """Prunes at most once per PRUNE_EVERY in a process, the first time
    on the process's first store; after a full batch, again on the next
    store, until the backlog is gone."""

    def __init__(self, clock=timezone.now, batch_size=BATCH_SIZE):
        # Swappable, so tests move time without sleeping.
        self.clock = clock
        self.batch_size = batch_size
        self.due = None

    def prune_if_due(self):
        now = self.clock()
        if self.due is not None and now < self.due:
            return
        cutoff = now - timedelta(days=settings.LOGS_RETENTION_DAYS)
        if delete_batch(cutoff, self.batch_size) < self.batch_size:
            self.due = now + PRUNE_EVERY


retention = Retention()
