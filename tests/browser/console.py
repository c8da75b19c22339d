"""What the browser printed: console errors and uncaught page errors of every
page a test module opens, for the module's "no console errors" test."""

import re
from contextlib import contextmanager


class ConsoleLog:
    """Collects `console.error` lines and uncaught exceptions of the pages it
    watches. A test that provokes an error on purpose declares it with
    `expecting(pattern, why)`: while that block runs, matching lines are
    kept in `expected` (with the reason) instead of `errors`."""

    def __init__(self):
        self.errors = []
        self.expected = []
        self.pages = 0
        self._allowed = []

    def watch(self, page, name):
        self.pages += 1
        page.on("console", lambda message: self._console(name, message))
        page.on("pageerror", lambda error: self.errors.append(f"{name}: uncaught {error}"))

    def _console(self, name, message):
        if message.type != "error":
            return
        line = f"{name}: {message.text}"
        for pattern, why in self._allowed:
            if pattern.search(message.text):
                self.expected.append((line, why))
                return
        self.errors.append(line)

    @contextmanager
    def expecting(self, pattern, why):
        allowance = (re.compile(pattern), why)
        self._allowed.append(allowance)
        try:
            yield
        finally:
            self._allowed.remove(allowance)
