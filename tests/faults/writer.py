"""Child process of the fault tests: moves the live instances of one
session around the trading cycle at a steady rate through the ORM, as the
coordinator or an operator would, until SIGTERM.

It runs in its own process because that is where production writes come
from (the coordinator, manage.py, the admin of another daphne): its events
leave through its own publisher, over the private Redis. It tolerates the
faults it is put through: a write that fails because PostgreSQL dropped
the connection is retried on a fresh connection (after checking whether it
committed after all); Redis being away does not fail a write at all (the
event is published after the commit, which is what the tests look at).

Prints one JSON line at the end: writes done, failures retried, the time of
the last committed write, and whether the publisher drained.
"""

import contextlib
import json
import signal
import sys
import threading
import time

import django

django.setup()

from django.db import close_old_connections, connection  # noqa: E402
from django.db.utils import DatabaseError, InterfaceError, OperationalError  # noqa: E402

from streams.publishing.publish import publisher  # noqa: E402
from trading.models import StrategyInstance  # noqa: E402

CYCLE = {
    "idle": "monitoring",
    "monitoring": "signal_detected",
    "signal_detected": "entering",
    "entering": "in_position",
    "in_position": "exiting",
    "exiting": "idle",
    "error": "idle",
    "stopped": "idle",
}


def main(session_id, rate):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ids = list(
        StrategyInstance.objects.filter(session_id=session_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    print(f"writer: {len(ids)} instances of session {session_id}, {rate:g} writes/s", flush=True)
    writes = failures = 0
    last_write = None
    errors = []
    interval = 1.0 / rate
    due = time.monotonic()
    n = 0
    while not stop.is_set():
        pk = ids[n % len(ids)]
        try:
            instance = StrategyInstance.objects.get(pk=pk)
            instance.transition_to(CYCLE[instance.state], reason="fault-suite writer")
            writes += 1
            last_write = time.time()
            n += 1
        except (OperationalError, InterfaceError, DatabaseError) as exc:
            # The connection died (pg_terminate_backend): Django leaves it
            # unusable; drop it and retry the same instance on a new one,
            # reading its state afresh (the failed commit may have landed).
            failures += 1
            if len(errors) < 5:
                errors.append(f"{type(exc).__name__}: {exc}".strip())
            with contextlib.suppress(DatabaseError):
                connection.close()
            close_old_connections()
            stop.wait(0.05)
            continue
        due += interval
        stop.wait(max(0.0, due - time.monotonic()))
    drained = publisher().flush(10)
    print(
        json.dumps(
            {
                "writes": writes,
                "failures": failures,
                "last_write": last_write,
                "drained": drained,
                "errors": errors,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
