"""The dashboard page as a test drives it: logging in through the real login
form, and reading what the user sees (connection state, panels) and the
page's streams client (`window.__streams`)."""

import re
import time

from playwright.sync_api import expect

from tests.browser.sockets import SocketLog

# Counts the events of these (stream, type)s the page receives, from the
# moment `count_events()` runs: proof that data arrived live, not only in a
# snapshot the server kept from earlier.
COUNTED = (
    ("liquidations", "liquidation"),
    ("pump_indicators", "indicators"),
)

STATE_TABLE_JS = """() => Object.fromEntries(
    [...document.querySelectorAll('[data-panel="state"] tbody tr:not(.leaving)')].map((tr) => [
        tr.dataset.key,
        tr.querySelector(".badge").className.match(/\\bstate-(\\S+)/)[1],
    ]))"""


class Dashboard:
    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url
        self.sockets = SocketLog(page)
        self.status = page.locator("[data-connection-status]")

    def log_in(self, username, password):
        """Opens the dashboard, is sent to the login page, logs in, and
        waits until the page's socket is live."""
        self.page.goto(self.base_url + "/")
        expect(self.page).to_have_url(re.compile(r"/accounts/login/"))
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page).to_have_url(self.base_url + "/")
        self.expect_live()
        return self

    def expect_live(self, timeout=5000):
        expect(self.status).to_have_attribute("data-state", "connected", timeout=timeout)
        expect(self.status).to_contain_text("Live")

    def panel(self, name):
        return self.page.locator(f'[data-panel="{name}"]')

    def state_badge(self, instance_id):
        """The state badge of an instance's row in the state overview."""
        return self.panel("state").locator(
            f'tbody tr[data-key="{instance_id}"]:not(.leaving) .badge'
        )

    def state_row(self, instance_id):
        return self.panel("state").locator(f'tbody tr[data-key="{instance_id}"]:not(.leaving)')

    def state_table(self):
        """{instance id: state} as the state overview shows it."""
        return self.page.evaluate(STATE_TABLE_JS)

    def stats(self):
        """The streams client's counters: opened, resyncs, gaps, stale,
        snapshots and recovered (resumed without one)."""
        return self.page.evaluate("() => ({ ...window.__streams.stats })")

    def client_state(self):
        return self.page.evaluate("() => ({ ...window.__streams.client.state })")

    def count_events(self):
        self.page.evaluate(
            """(counted) => {
                window.__seen = {}
                for (const [stream, type] of counted) {
                    window.__streams.client.on(stream, type, () => {
                        const key = `${stream} ${type}`
                        window.__seen[key] = (window.__seen[key] ?? 0) + 1
                    })
                }
            }""",
            [list(pair) for pair in COUNTED],
        )

    def seen(self, stream, type_):
        return self.page.evaluate("(key) => window.__seen[key] ?? 0", f"{stream} {type_}")

    def wait_until(self, check, timeout=10.0, interval_ms=100):
        """Calls `check()` until it returns something truthy (returned) or
        `timeout` seconds pass (returns the last falsy value). Waits with
        the page's clock so the browser's events keep being handled."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result or time.monotonic() > deadline:
                return result
            self.page.wait_for_timeout(interval_ms)
