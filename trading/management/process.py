"""How trading's long-running ops commands stop: SIGINT and SIGTERM only
set a flag, so the work in progress ends cleanly."""

import signal
import threading
from contextlib import contextmanager


@contextmanager
def stop_on_signals(stop=None):
    """Within the block, SIGINT and SIGTERM set `stop` (a threading.Event,
    yielded) instead of interrupting; the old handlers come back after."""
    stop = stop or threading.Event()
    previous = {}

    def handler(signum, frame):
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
