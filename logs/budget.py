"""The CPU time one `POST /api/logs/` request may spend on its body.

Parsing, validating and scrubbing are linear in a bounded body, so a
request's work is bounded already; the budget keeps it so when a future
pattern or check is not. It matters because Django runs every sync view of
a process on one thread (STACK-NOTES.md): a request working for seconds
delays all the others, /healthz included. Past the budget the request is
refused with 413 and nothing from it is kept.

CPU time of the request's thread, not wall time, so a busy machine does
not make honest requests fail.
"""

import time

from django.conf import settings

from logs.exceptions import PayloadTooLarge


class CPUBudget:
    # Swappable, so tests spend time without working.
    clock = staticmethod(time.thread_time)

    def __init__(self):
        self.limit_ms = settings.LOGS_REQUEST_CPU_MS
        self.deadline = self.clock() + self.limit_ms / 1000

    def check(self):
        """Raises PayloadTooLarge (413) once the budget is spent."""
        if self.clock() > self.deadline:
            raise PayloadTooLarge(
                f"Checking this request took over {self.limit_ms} ms of CPU", "too_costly"
            )
