"""Across processes: daphne on the Redis layer as a real subprocess, changes
made in other processes, plain `websockets` clients."""

import asyncio
import contextlib
import json
import time
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async

from tests.support import processes, services
from tests.support.live import Daphne
from trading.models import StrategyInstance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live, pytest.mark.redis]


async def next_of_type(ws, type_, timeout=5):
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        assert message.get("stream")
        if message["type"] == type_:
            return message


@pytest.fixture
def redis_url():
    return services.redis_url()


@pytest.fixture
async def instance(trading_session):
    return await database_sync_to_async(StrategyInstance.objects.create)(
        session=trading_session, strategy="pump", symbol="BTCUSDT"
    )


@pytest.fixture
async def subscriber(owner, trading_session, token_for):
    """subscriber(server, **connect_options): a websockets client of the
    owner, subscribed to the session; yields (ws, full_update)."""
    token = await database_sync_to_async(token_for)(owner)

    @contextlib.asynccontextmanager
    async def connect(server, **options):
        async with websockets.connect(
            server.ws_url, additional_headers={"Authorization": f"Token {token}"}, **options
        ) as ws:
            assert (await next_of_type(ws, "welcome"))["stream"] == "system"
            await ws.send(
                json.dumps(
                    {
                        "action": "subscribe",
                        "stream": "state_machines",
                        "params": {"session_id": str(trading_session.pk)},
                    }
                )
            )
            yield ws, await next_of_type(ws, "full_update")

    return connect


async def run_elsewhere(redis_url, *args):
    result = await asyncio.to_thread(processes.manage, *args, REDIS_URL=redis_url)
    assert result.returncode == 0, result.stderr
    return result


async def test_manage_py_transition_reaches_a_client_of_another_process(
    redis_url, instance, subscriber
):
    with Daphne(REDIS_URL=redis_url) as server:
        async with subscriber(server) as (ws, snapshot):
            result = await run_elsewhere(
                redis_url, "transition", instance.pk, "monitoring", "--json"
            )
            committed = time.monotonic()
            change = await next_of_type(ws, "state_change", timeout=1)
            assert time.monotonic() - committed < 1
            assert change["data"]["id"] == str(instance.pk)
            assert change["data"]["state"] == "monitoring"
            assert change["seq"] == snapshot["seq"] + 1
            assert json.loads(result.stdout)["version"] == change["data"]["version"] == 2


async def test_an_idle_period_longer_than_redis_timeouts_loses_nothing(
    redis_url, instance, subscriber
):
    """redis-py 8 times reads out after 5 s by default, which kills idle
    layer readers (STACK-NOTES); after 7 s of silence events still flow."""
    with Daphne(REDIS_URL=redis_url) as server:
        async with subscriber(server) as (ws, snapshot):
            await asyncio.sleep(7)
            await run_elsewhere(
                redis_url,
                "shell",
                "-c",
                f"from trading.models import StrategyInstance as S; i = S.objects.get(pk={instance.pk})\n"
                "for state in ('monitoring', 'idle', 'monitoring'): i.transition_to(state)",
            )
            changes = [await next_of_type(ws, "state_change", timeout=2) for _ in range(3)]
            assert [c["seq"] for c in changes] == [snapshot["seq"] + n for n in (1, 2, 3)]


PUBLISH_BIG_EVENTS = """
from streams.publishing.publish import publish, publisher
for n in range(100):
    publish("state_machines", "state_change", {"id": "0", "n": n, "pad": "x" * 200_000},
            session_id="{session}")
assert publisher().flush(30)
"""


async def test_a_client_that_stops_reading_is_closed_with_1013_and_others_keep_up(
    redis_url, trading_session, subscriber, staff, token_for
):
    staff_token = await database_sync_to_async(token_for)(staff)
    with Daphne(REDIS_URL=redis_url, STREAMS_MAX_BACKLOG_BYTES=1_000_000) as server:
        async with (
            subscriber(server, max_size=None) as (fast, _),
            subscriber(server, max_size=None, max_queue=1) as (slow, _),
        ):

            async def read_all():
                return [await next_of_type(fast, "state_change", 30) for _ in range(100)]

            reading = asyncio.ensure_future(read_all())
            await run_elsewhere(
                redis_url,
                "shell",
                "-c",
                PUBLISH_BIG_EVENTS.replace("{session}", str(trading_session.pk)),
            )
            received = await reading
            assert [m["data"]["n"] for m in received] == list(range(100))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(slow.recv(), 10)
            # 1013 if the client reads up to the close frame before the
            # close handshake times out, else the connection is dropped
            # (1006); either way it reconnects and resyncs.
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1013
            # The counters are for staff (streams/views.py healthz).
            health = urllib.request.Request(
                server.url + "/healthz", headers={"Authorization": f"Token {staff_token}"}
            )
            with urllib.request.urlopen(health) as reply:
                assert json.load(reply)["streams"]["slow_clients_closed"] == 1
