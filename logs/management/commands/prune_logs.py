"""`manage.py prune_logs --older-than 7d`: delete old frontend log entries
now, at any age (the recorder keeps to LOGS_RETENTION_DAYS by itself).

Deletes in batches so a large table is never locked for long, and stops
cleanly between batches on SIGINT or SIGTERM, reporting what it did.
"""

import argparse
import signal

from django.core.management.base import BaseCommand
from django.utils import timezone

from logs.durations import parse_duration
from logs.retention import BATCH_SIZE, delete_batch


def _duration(text):
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Command(BaseCommand):
    help = "Delete frontend log entries received longer ago than --older-than (e.g. 7d)."

    batch_size = BATCH_SIZE
    stopping = False

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            required=True,
            type=_duration,
            metavar="DURATION",
            help="age of the entries to delete: a number followed by s, m, h or d",
        )

    def handle(self, *args, older_than, **options):
        cutoff = self.cutoff(older_than)
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            deleted = self.prune(cutoff)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        stopped = " (stopped early)" if self.stopping else ""
        self.stdout.write(
            f"Deleted {deleted} frontend log entries received before "
            f"{cutoff.isoformat(timespec='seconds')}{stopped}."
        )

    def stop(self, signum, frame):
        self.stopping = True

    def cutoff(self, older_than, now=None):
        """The moment before which entries are deleted."""
        return (now or timezone.now()) - older_than

    def prune(self, cutoff):
        """Deletes the entries received before `cutoff`, one batch at a
        time until none is left or a stop was asked; returns how many."""
        deleted = 0
        while not self.stopping:
            batch = delete_batch(cutoff, self.batch_size)
            if not batch:
                break
            deleted += batch
        return deleted
