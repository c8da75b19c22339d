"""Across processes: daphne on the Redis layer, a change made by
`manage.py transition` in another process, received by a plain websockets
client."""

import asyncio
import json
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async as sync_to_async

from tests import processes, services
from tests.live import Daphne
from trading.models import StrategyInstance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live, pytest.mark.redis]


async def next_of_type(ws, type_, timeout=5):
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        assert "stream" in message and message["stream"]
        if message["type"] == type_:
            return message


@pytest.fixture
def redis_url():
    return services.redis_url()


async def test_manage_py_transition_reaches_a_client_of_another_process(
    redis_url, owner, trading_session, token_for
):
    instance = await sync_to_async(StrategyInstance.objects.create)(
        session=trading_session, strategy="pump", symbol="BTCUSDT")
    token = await sync_to_async(token_for)(owner)
    with Daphne(REDIS_URL=redis_url) as server:
        async with websockets.connect(
            server.ws_url, additional_headers={"Authorization": f"Token {token}"}
        ) as ws:
            assert (await next_of_type(ws, "welcome"))["stream"] == "system"
            await ws.send(json.dumps({"action": "subscribe", "stream": "state_machines",
                                      "params": {"session_id": str(trading_session.pk)}}))
            snapshot = await next_of_type(ws, "full_update")
            result = await asyncio.to_thread(
                processes.manage, "transition", instance.pk, "monitoring", "--json",
                REDIS_URL=redis_url)
            assert result.returncode == 0, result.stderr
            committed = time.monotonic()
            change = await next_of_type(ws, "state_change", timeout=1)
            assert time.monotonic() - committed < 1
            assert change["data"]["id"] == str(instance.pk)
            assert change["data"]["state"] == "monitoring"
            assert change["seq"] == snapshot["seq"] + 1
            assert json.loads(result.stdout)["version"] == change["data"]["version"] == 2


async def test_an_idle_period_longer_than_redis_timeouts_loses_nothing(
    redis_url, owner, trading_session, token_for
):
    """redis-py 8 times reads out after 5 s by default, which kills idle
    layer readers (STACK-NOTES); after 7 s of silence events still flow."""
    instance = await sync_to_async(StrategyInstance.objects.create)(
        session=trading_session, strategy="pump", symbol="BTCUSDT")
    token = await sync_to_async(token_for)(owner)
    with Daphne(REDIS_URL=redis_url) as server:
        async with websockets.connect(
            server.ws_url, additional_headers={"Authorization": f"Token {token}"}
        ) as ws:
            await ws.send(json.dumps({"action": "subscribe", "stream": "state_machines",
                                      "params": {"session_id": str(trading_session.pk)}}))
            snapshot = await next_of_type(ws, "full_update")
            await asyncio.sleep(7)
            code = (f"from trading.models import StrategyInstance as S; i = S.objects.get(pk={instance.pk})\n"
                    "for state in ('monitoring', 'idle', 'monitoring'): i.transition_to(state)")
            result = await asyncio.to_thread(
                processes.manage, "shell", "-c", code, REDIS_URL=redis_url)
            assert result.returncode == 0, result.stderr
            changes = [await next_of_type(ws, "state_change", timeout=2) for _ in range(3)]
            assert [c["seq"] for c in changes] == [snapshot["seq"] + n for n in (1, 2, 3)]


PUBLISH_BIG_EVENTS = """
import django; django.setup()
from streams.publish import publish, publisher
for n in range(100):
    publish("state_machines", "state_change", {"id": "0", "n": n, "pad": "x" * 200_000},
            session_id="{session}")
assert publisher().flush(30)
"""


async def test_a_client_that_stops_reading_is_closed_with_1013_and_others_keep_up(
    redis_url, owner, trading_session, token_for
):
    token = await sync_to_async(token_for)(owner)
    headers = {"Authorization": f"Token {token}"}
    subscribe = json.dumps({"action": "subscribe", "stream": "state_machines",
                            "params": {"session_id": str(trading_session.pk)}})
    with Daphne(REDIS_URL=redis_url, STREAMS_MAX_BACKLOG_BYTES=1_000_000) as server:
        async with websockets.connect(server.ws_url, additional_headers=headers,
                                      max_size=None) as fast, \
                websockets.connect(server.ws_url, additional_headers=headers,
                                   max_size=None, max_queue=1) as slow:
            for ws in (fast, slow):
                await ws.send(subscribe)
                await next_of_type(ws, "full_update")
            async def read_all():
                return [await next_of_type(fast, "state_change", 30) for _ in range(100)]

            reading = asyncio.ensure_future(read_all())
            code = PUBLISH_BIG_EVENTS.replace("{session}", str(trading_session.pk))
            result = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-c", code], env=processes.env(REDIS_URL=redis_url),
                cwd=processes.ROOT, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            received = await reading
            assert [m["data"]["n"] for m in received] == list(range(100))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(slow.recv(), 10)
            # 1013 if the client reads up to the close frame before the
            # close handshake times out, else the connection is dropped
            # (1006); either way it reconnects and resyncs.
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1013
            with urllib.request.urlopen(server.url + "/healthz") as reply:
                assert json.load(reply)["streams"]["slow_clients_closed"] == 1
