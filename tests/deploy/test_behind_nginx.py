"""The desk behind the shipped nginx site: WebSockets over TLS from a
script and a browser, surviving the loss of one daphne process, and the
client address the app sees being the one nginx saw (conftest.py)."""

import asyncio
import http.client
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from tests.browser.dashboard import Dashboard
from tests.deploy.conftest import ANON_LOG_RATE
from tests.deploy.shipped import SITE
from tests.deploy.token_client import TokenClient

pytestmark = [
    pytest.mark.live,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def request(nginx, method, path, body=None, headers=None, tls=True):
    """(status, headers, body) of one request to nginx, redirects not followed."""
    if tls:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", nginx.https_port, context=nginx.ssl_context(), timeout=10
        )
    else:
        connection = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        connection.close()


def wsconnects(server):
    return server.read().count("WSCONNECT /ws")


def test_http_is_sent_to_https_and_nginx_serves_the_static_files(nginx, daphnes):
    status, headers, _ = request(nginx, "GET", "/accounts/login/?next=/", tls=False)
    assert status == 301
    assert headers["Location"] == f"{nginx.url}/accounts/login/?next=/"

    status, _, body = request(nginx, "GET", "/static/streams/ws-client.js")
    assert status == 200 and b"WebSocket" in body
    assert not any("/static/" in server.read() for server in daphnes), "daphne served it"

    status, _, body = request(nginx, "GET", "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})


async def test_a_token_client_over_wss_follows_updates_and_survives_losing_its_daphne(
    nginx, daphnes, desk, transition
):
    """(a) welcome, subscribe and an update made by `manage.py transition`
    in another process; (c) its daphne stopped, the client reconnects
    through nginx to the other one, resumes, and still gets updates."""
    token = await asyncio.to_thread(lambda: Token.objects.create(user=desk.user).key)
    client = TokenClient(nginx.ws_url, token, nginx.ssl_context())
    before = [wsconnects(server) for server in daphnes]
    welcome = await client.connect()
    assert welcome["type"] == "welcome"
    await client.subscribe("state_machines", {"session_id": str(desk.session.pk)})
    btc, sol = desk.instances["BTCUSDT"], desk.instances["SOLUSDT"]

    await asyncio.to_thread(transition, btc.pk, "monitoring")
    change = await client.next("state_change")
    assert (change["data"]["id"], change["data"]["state"]) == (str(btc.pk), "monitoring")

    [serving] = [
        server for server, count in zip(daphnes, before, strict=False) if wsconnects(server) > count
    ]
    await asyncio.to_thread(serving.stop)
    try:
        with pytest.raises(websockets.ConnectionClosed):
            await client.next("state_change", timeout=5)
        [subscribed] = await client.reconnect()
        assert subscribed["type"] == "subscribed"

        await asyncio.to_thread(transition, sol.pk, "monitoring")
        change = await client.next("state_change")
        assert (change["data"]["id"], change["data"]["state"]) == (str(sol.pk), "monitoring")
        await client.close()
    finally:
        await asyncio.to_thread(serving.start)


@pytest.mark.browser
def test_a_browser_logged_in_through_nginx_sees_an_update(
    nginx, desk, transition, context, console
):
    """(b) Playwright's chromium over https; the page's /ws goes through
    nginx's upgrade and passes the origin check on the forwarded Host."""
    page = context.new_page()
    console.watch(page, "behind nginx")
    dashboard = Dashboard(page, nginx.url).log_in(desk.username, desk.password)
    assert dashboard.sockets.open[0].url == nginx.ws_url
    eth = desk.instances["ETHUSDT"]

    transition(eth.pk, "error")
    expect(dashboard.state_badge(eth.pk)).to_have_class(re.compile(r"\bstate-error\b"))
    assert console.errors == []


def test_the_log_throttle_counts_the_address_nginx_saw_not_a_forwarded_one(nginx, daphnes):
    """(d) Every request claims another address in X-Forwarded-For and
    X-Real-IP. Were either believed, each would have a bucket of its own
    and none would be throttled. Each daphne process counts on its own, so
    the limit is reached by at most ANON_LOG_RATE per process."""
    spoofed = []
    statuses = []
    for _ in range(ANON_LOG_RATE * len(daphnes) + 1):
        address = f"10.{uuid.uuid4().int % 250}.{len(spoofed) % 250}.7"
        spoofed.append(address)
        status, headers, _ = request(
            nginx,
            "POST",
            "/api/logs/",
            body=json.dumps({"level": "warn", "message": "spoof"}),
            headers={
                "Content-Type": "application/json",
                "X-Forwarded-For": address,
                "X-Real-IP": address,
            },
        )
        statuses.append(status)
        if status == 429:
            break
    assert statuses[-1] == 429, statuses
    assert "Retry-After" in headers

    seen = "".join(server.read() for server in daphnes)
    posts = [line for line in seen.splitlines() if "POST /api/logs/" in line]
    assert len(posts) == len(statuses)
    assert all("127.0.0.1" in line for line in posts), posts
    assert not any(address in seen for address in spoofed)


def shipped_number(pattern):
    """A number the shipped site sets (so the test follows the file)."""
    return int(re.search(pattern, SITE.read_text()).group(1))


def test_websockets_per_address_are_capped_by_nginx(nginx, daphnes, desk):
    """Threat: one address holding sockets without bound (each a consumer
    and its subscriptions on a daphne process). Its own thread's event loop:
    Playwright's runs in this one once the browser test has run."""
    cap = shipped_number(r"limit_conn trading_monitor_ws (\d+);")
    headers = {"Authorization": f"Token {Token.objects.create(user=desk.user).key}"}

    def connect():
        return websockets.connect(nginx.ws_url, ssl=nginx.ssl_context(), additional_headers=headers)

    async def one_too_many():
        sockets = [await connect() for _ in range(cap)]
        try:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await connect()
            return refused.value.response.status_code
        finally:
            await asyncio.gather(*(sock.close() for sock in sockets))

    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, one_too_many()).result() == 429


def test_login_pages_are_rate_limited_per_address_by_nginx(nginx, daphnes):
    """Threat: password guessing at the proxy's door, before the app counts
    failures: past the burst (one zone for both pages, per address), nginx
    answers 429 with Retry-After itself. (Last in the module: the browser
    test logs in through nginx from the same address.)"""
    burst = shipped_number(r"zone=trading_monitor_login burst=(\d+)")
    for path in ("/accounts/login/", "/admin/login/"):
        statuses = [request(nginx, "GET", path)[0] for _ in range(burst + 2)]
        assert statuses[-1] == 429, statuses
        assert set(statuses) <= {200, 429}, statuses
    status, headers, body = request(nginx, "POST", "/accounts/login/", body="username=a&password=b")
    assert status == 429
    assert headers["Retry-After"] == "60"
    assert b"Too many requests" in body
