"""The one rule for the stores that live in Redis when REDIS_URL is set and
in this process otherwise (the seq counters and history, the market values):
one object per configuration, built on first use from the settings it
depends on and built again when they change.

Tests switch REDIS_URL, the namespace or a TTL between runs; a store that
kept the object it built first would go on writing where the previous test
pointed it, and every caller would have to remember a reset.
"""

import threading

from django.conf import settings


class PerSettings:
    """`holder()` is the store for the current values of `names`, made by
    `build(*values)`."""

    def __init__(self, build, *names):
        self._build = build
        self._names = names
        self._lock = threading.Lock()
        self._key = None
        self._store = None

    def __call__(self):
        key = tuple(getattr(settings, name, None) for name in self._names)
        with self._lock:
            if self._store is None or key != self._key:
                self._store, self._key = self._build(*key), key
            return self._store
