"""Across processes: daphne on the Redis layer, a change made by
`manage.py transition` in another process, received by a plain websockets
client."""

import asyncio
import json
import time

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
