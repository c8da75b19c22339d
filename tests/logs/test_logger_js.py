"""The browser log service (logs/static/logs/logger.js) in chromium.

No Django server: the page and the module are served from disk through
Playwright routes, and `POST /api/logs/` is answered by a recorder, so each
test sees exactly what the browser sends. Timers are short or bypassed with
`flush()`, and the 429 test moves the logger's clock instead of waiting.
"""

import json
from pathlib import Path

import pytest

import logs

pytestmark = pytest.mark.browser

ROOT = "http://testserver"
API = f"{ROOT}/api/logs/"
LOGGER_JS = Path(logs.__file__).parent / "static" / "logs" / "logger.js"
PAGE = """<!doctype html>
<title>logger test</title>
<script type="module">
  import { Logger, log } from "/static/logs/logger.js";
  log.uninstall();  // each test makes its own logger
  window.Logger = Logger;
  window.ready = true;
</script>
"""


class Endpoint:
    """Stands in for `POST /api/logs/`: records each request and answers
    with the next of `replies` (status, headers), else 202."""

    def __init__(self):
        self.requests = []
        self.replies = []

    def handle(self, route, request):
        self.requests.append({"headers": request.headers, "body": request.post_data_json})
        status, headers = self.replies.pop(0) if self.replies else (202, {})
        route.fulfill(status=status, headers=headers, json={"accepted": 0, "dropped": 0})

    @property
    def entries(self):
        return [entry for request in self.requests for entry in request["body"]["entries"]]


@pytest.fixture
def endpoint():
    return Endpoint()


@pytest.fixture(scope="module")
def browser_context(chromium):
    context = chromium.new_context()
    context.add_cookies([{"name": "csrftoken", "value": "csrf-from-cookie", "url": ROOT}])
    yield context
    context.close()


@pytest.fixture
def page(browser_context, endpoint):
    """A fresh page with logger.js loaded and every request and console
    line it makes recorded in `page.seen` and `page.console`."""
    page = browser_context.new_page()
    page.set_default_timeout(5000)
    page.seen, page.console = [], []
    page.on("request", lambda request: page.seen.append(request.url))
    page.on("console", lambda message: page.console.append(message.text))
    page.route(
        f"{ROOT}/page.html", lambda route: route.fulfill(body=PAGE, content_type="text/html")
    )
    page.route(
        f"{ROOT}/static/logs/logger.js",
        lambda route: route.fulfill(path=LOGGER_JS, content_type="text/javascript"),
    )
    page.route(API, endpoint.handle)
    page.goto(f"{ROOT}/page.html")
    page.wait_for_function("window.ready === true")
    yield page
    page.close()


def make_logger(page, **options):
    page.evaluate("(options) => { window.logger = new Logger(options); }", options)


def test_debug_and_info_never_reach_the_network_while_warn_and_error_do_batched(page, endpoint):
    make_logger(page, flushInterval=200)

    with page.expect_response(API):
        page.evaluate(
            """() => {
                for (let i = 0; i < 5; i++) {
                    logger.debug(`debug ${i}`);
                    logger.info(`info ${i}`);
                }
                logger.warn("warn one");
                logger.error("error one", new Error("boom"));
                logger.scoped("ws").warn("reconnecting", { code: 1006 });
            }"""
        )
    page.evaluate("logger.flush()")

    assert len(endpoint.requests) == 1
    assert [(e["level"], e["message"], e["source"]) for e in endpoint.entries] == [
        ("WARN", "warn one", "browser"),
        ("ERROR", "error one Error: boom", "browser"),
        ("WARN", "reconnecting", "ws"),
    ]
    assert endpoint.entries[2]["context"] == {"code": 1006}
    assert "Error: boom" in endpoint.entries[1]["context"]["stack"]
    assert [url for url in page.seen if url.startswith(API)] == [API]
    assert not any(text.startswith(("debug", "info")) for text in page.console)


def test_it_sends_a_batch_as_soon_as_twenty_entries_wait(page, endpoint):
    make_logger(page, flushInterval=60_000)

    with page.expect_response(API):
        page.evaluate("() => { for (let i = 0; i < 21; i++) logger.warn(`warn ${i}`); }")

    assert len(endpoint.requests) == 1
    assert len(endpoint.entries) == 20
    assert page.evaluate("logger.queue.length") == 1


def test_it_collapses_identical_messages_into_one_with_a_count(page, endpoint):
    make_logger(page, flushInterval=60_000)

    page.evaluate(
        """async () => {
            for (let i = 0; i < 50; i++) logger.warn("same again");
            logger.warn("different");
            await logger.flush();
        }"""
    )

    assert [(e["message"], e["count"]) for e in endpoint.entries] == [
        ("same again", 50),
        ("different", 1),
    ]


def test_a_count_at_the_servers_limit_starts_another_entry(page, endpoint):
    make_logger(page, flushInterval=60_000, maxCount=3)

    page.evaluate(
        """async () => {
            for (let i = 0; i < 7; i++) logger.warn("hot loop");
            await logger.flush();
        }"""
    )

    assert [e["count"] for e in endpoint.entries] == [3, 3, 1]


def test_a_full_queue_drops_the_oldest_and_the_next_batch_says_how_many(page, endpoint):
    make_logger(page, flushInterval=60_000, maxQueue=5, batchSize=50)

    page.evaluate(
        """async () => {
            for (let i = 0; i < 8; i++) logger.warn(`warn ${i}`);
            await logger.flush();
            logger.warn("later");
            await logger.flush();
        }"""
    )

    first, second = (request["body"]["entries"] for request in endpoint.requests)
    assert [e["message"] for e in first] == [f"warn {i}" for i in range(3, 8)] + [
        "log queue full: 3 entries dropped"
    ]
    assert first[-1]["context"] == {"dropped": 3}
    assert [e["message"] for e in second] == ["later"]


def test_it_waits_out_a_429_retry_after_then_resends(page, endpoint):
    endpoint.replies.append((429, {"Retry-After": "30"}))
    page.evaluate(
        """() => {
            window.clock = 1_000_000;
            window.logger = new Logger({ flushInterval: 60_000, now: () => clock });
        }"""
    )

    page.evaluate("async () => { logger.warn('first'); await logger.flush(); }")
    page.evaluate("async () => { logger.warn('second'); clock += 29_000; await logger.flush(); }")
    assert len(endpoint.requests) == 1

    page.evaluate("async () => { clock += 2_000; await logger.flush(); }")
    assert len(endpoint.requests) == 2
    assert [e["message"] for e in endpoint.requests[1]["body"]["entries"]] == ["first", "second"]


def test_it_keeps_a_batch_the_server_failed_and_drops_one_it_refused(page, endpoint):
    endpoint.replies += [(503, {}), (202, {}), (400, {})]
    make_logger(page, flushInterval=60_000)

    page.evaluate(
        """async () => {
            logger.error("kept through a 503");
            await logger.flush();
            await logger.flush();
            logger.error("refused");
            await logger.flush();
            await logger.flush();
        }"""
    )

    assert [[e["message"] for e in r["body"]["entries"]] for r in endpoint.requests] == [
        ["kept through a 503"],
        ["kept through a 503"],
        ["refused"],
    ]


def test_it_sends_the_csrf_token_from_the_cookie(page, endpoint):
    make_logger(page, flushInterval=60_000)

    page.evaluate("async () => { logger.warn('x'); await logger.flush(); }")

    headers = endpoint.requests[0]["headers"]
    assert headers["x-csrftoken"] == "csrf-from-cookie"
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "leave",
    [
        "window.dispatchEvent(new Event('pagehide'))",
        """Object.defineProperty(document, 'visibilityState', { value: 'hidden' });
           document.dispatchEvent(new Event('visibilitychange'))""",
    ],
    ids=["pagehide", "hidden"],
)
def test_it_flushes_with_keepalive_when_the_page_goes_away(page, endpoint, leave):
    make_logger(page, flushInterval=60_000)
    page.evaluate(
        """() => {
            const realFetch = window.fetch;
            window.keepalive = [];
            window.fetch = (url, init) => { keepalive.push(init.keepalive); return realFetch(url, init); };
            logger.install();
            logger.warn("leaving");
        }"""
    )

    with page.expect_response(API):
        page.evaluate(f"() => {{ {leave} }}")

    assert [e["message"] for e in endpoint.entries] == ["leaving"]
    assert page.evaluate("window.keepalive") == [True]
    assert endpoint.requests[0]["headers"]["content-type"] == "application/json"


def test_it_captures_uncaught_errors_and_unhandled_rejections(page, endpoint):
    make_logger(page, flushInterval=60_000)

    page.evaluate(
        """() => {
            logger.install();
            setTimeout(() => { throw new TypeError("boom"); });
            Promise.reject(new Error("nope"));
        }"""
    )
    page.wait_for_function("logger.queue.length === 2")
    page.evaluate("logger.flush()")

    by_source = {e["source"]: e for e in endpoint.entries}
    assert by_source["window.onerror"]["message"] == "TypeError: boom"
    assert by_source["window.onerror"]["level"] == "ERROR"
    assert "boom" in by_source["window.onerror"]["context"]["stack"]
    assert by_source["unhandledrejection"]["message"] == "Unhandled rejection: Error: nope"


def test_what_it_sends_stays_within_the_servers_limits(page, endpoint):
    """One odd entry must not get a whole batch refused: long text is
    clipped, NUL and lone surrogates replaced, deep or cyclic contexts cut."""
    make_logger(page, flushInterval=60_000)

    page.evaluate(
        """async () => {
            const cyclic = { name: "a" };
            cyclic.self = cyclic;
            let deep = {};
            for (let i = 0; i < 10; i++) deep = { deep };
            logger.warn("\\u0000\\ud800" + "€".repeat(10_000), { cyclic, deep, big: "x".repeat(50_000) });
            await logger.flush();
        }"""
    )

    (entry,) = endpoint.entries
    assert len(entry["message"].encode("utf-8")) <= 8 * 1024
    assert "\u0000" not in entry["message"]
    assert len(json.dumps(entry["context"], ensure_ascii=False).encode("utf-8")) <= 16 * 1024
