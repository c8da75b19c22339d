"""End to end, in real processes: `serve --coordinator` on the in-memory
layer (what `make run` starts), and with Redis a `run_coordinator` process
whose changes reach a websockets client of a separate daphne process."""

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async as db
from django.core.management.base import CommandError

from tests.support import processes, services
from tests.support.live import Daphne, Serve
from trading.management.commands.tail_stream import Command as TailStream
from trading.models import StrategyInstance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

CYCLE = ["monitoring", "signal_detected", "entering", "in_position", "exiting", "monitoring"]


async def tail(url, token, stream, params=None, count=1):
    lines = []
    await TailStream().tail(url, token, stream, params or {}, count=count, write=lines.append)
    return [json.loads(line) for line in lines]


@db
def demo_instance(session, symbol="SOLUSDT"):
    return StrategyInstance.objects.create(session=session, strategy="pump", symbol=symbol)


async def test_serve_runs_the_coordinator_beside_daphne(
    owner, stranger, trading_session, token_for
):
    instance = await demo_instance(trading_session)
    token, strangers = await db(token_for)(owner), await db(token_for)(stranger)
    params = {"session_id": str(trading_session.pk)}
    with Serve(
        "--coordinator", "--session", trading_session.pk, "--seed", 3, "--speed", 20
    ) as server:
        moves = await tail(server.ws_url, token, "state_machines", params, count=6)
        assert [m["type"] for m in moves[:2]] == ["subscribed", "full_update"]
        # The coordinator starts its scopes in a new epoch (a resync may be
        # among these): the moves are the state changes.
        states = {m["data"]["state"] for m in moves[2:] if m["type"] == "state_change"}
        assert states & {"signal_detected", "entering", "in_position", "exiting", "monitoring"}
        progress = await tail(server.ws_url, token, "condition_progress", params, count=1)
        assert progress[-1]["type"] == "condition_progress"
        assert progress[-1]["data"]["instance_id"] == str(instance.pk)
        pumps = await tail(server.ws_url, token, "pump_indicators", {"symbol": "SOLUSDT"}, count=1)
        assert pumps[-1]["type"] == "indicators" and pumps[-1]["data"]["symbol"] == "SOLUSDT"

        with pytest.raises(CommandError, match="unknown stream 'nope'; valid streams: "):
            await tail(server.ws_url, token, "nope")
        with pytest.raises(CommandError, match="signed out: .* does not accept this token"):
            await tail(server.ws_url, "not-a-token", "state_machines", params)
        with pytest.raises(CommandError, match="forbidden: you may not see session"):
            await tail(server.ws_url, strangers, "signals", params)

        code, out = await asyncio.to_thread(server.stop)
    assert code == 0
    assert "every instance is in a consistent state" in out
    await db(instance.refresh_from_db)()
    assert instance.state in ("idle", "in_position")


@pytest.fixture
def redis_url():
    """Market values of other runs can't show: each run has its own
    STREAMS_NAMESPACE, which the child processes inherit."""
    return services.redis_url()


async def collect(ws, until, quiet=3.0):
    """Messages until `until()` is done and `quiet` seconds pass without one."""
    received = []
    while True:
        try:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
        except TimeoutError:
            if until():
                return received


@pytest.mark.redis
async def test_a_coordinator_process_reaches_a_client_of_another_daphne(
    redis_url, owner, trading_session, token_for
):
    instance = await demo_instance(trading_session)
    token = await db(token_for)(owner)
    session = {"session_id": str(trading_session.pk)}
    subscriptions = [
        ("state_machines", session),
        ("condition_progress", session),
        ("signals", session),
        ("pump_indicators", {"symbol": "SOLUSDT"}),
        ("liquidations", {}),
    ]
    with Daphne(REDIS_URL=redis_url) as server:
        async with websockets.connect(
            server.ws_url, additional_headers={"Authorization": f"Token {token}"}
        ) as ws:
            for stream, params in subscriptions:
                await ws.send(
                    json.dumps({"action": "subscribe", "stream": stream, "params": params})
                )
            coordinator = asyncio.ensure_future(
                asyncio.to_thread(
                    processes.manage,
                    "run_coordinator",
                    "--session",
                    trading_session.pk,
                    "--seed",
                    3,
                    "--speed",
                    0,
                    "--ticks",
                    80,
                    REDIS_URL=redis_url,
                )
            )
            received = await collect(ws, coordinator.done)
            result = coordinator.result()
            assert result.returncode == 0, result.stderr
            assert "every instance is in a consistent state" in result.stdout

            def of(type_):
                return [m for m in received if m["type"] == type_]

            states = [
                m["data"]["state"]
                for m in of("state_change")
                if m["data"]["id"] == str(instance.pk)
            ]
            assert states[:6] == CYCLE
            assert states[-1] in ("idle", "in_position")
            assert {m["data"]["instance_id"] for m in of("condition_progress")} == {
                str(instance.pk)
            }
            assert [m["data"]["side"] for m in of("signal")][:2] == ["buy", "sell"]
            pumps = of("indicators")
            assert pumps and {m["data"]["symbol"] for m in pumps} == {"SOLUSDT"}
            assert len(pumps) < 80, "conflated: fewer events than ticks"
            assert of("liquidation")
            for stream in ("state_machines", "pump_indicators"):
                seqs = [
                    m["seq"]
                    for m in received
                    if m["stream"] == stream and m["type"] not in ("subscribed", "full_update")
                ]
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gap, no repeat"

        # The coordinator is gone; its latest values are still in the snapshot.
        snapshot = await tail(server.ws_url, token, "pump_indicators", count=0)
        symbols = [i["symbol"] for i in snapshot[1]["data"]["indicators"]]
        assert symbols == sorted(["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "PEPEUSDT"])


async def test_without_redis_a_command_in_another_terminal_reaches_the_served_dashboard(
    owner, trading_session, token_for
):
    """The embedded mode of `make run`: `manage.py transition` run beside
    `manage.py serve` relays its event to the server (streams/publishing/relay.py)."""
    instance = await demo_instance(trading_session)
    token = await db(token_for)(owner)
    params = {"session_id": str(trading_session.pk)}
    with Serve(REDIS_URL="") as server:
        async with websockets.connect(
            server.ws_url, additional_headers={"Authorization": f"Token {token}"}
        ) as ws:
            await ws.send(
                json.dumps({"action": "subscribe", "stream": "state_machines", "params": params})
            )
            received = []
            while not received or received[-1]["type"] != "full_update":
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            result = await asyncio.to_thread(
                processes.manage, "transition", instance.pk, "monitoring", REDIS_URL=""
            )
            assert result.returncode == 0, result.stderr
            assert "no REDIS_URL" not in result.stderr
            change = json.loads(await asyncio.wait_for(ws.recv(), 1))
            assert change["type"] == "state_change"
            assert (change["data"]["id"], change["data"]["state"]) == (
                str(instance.pk),
                "monitoring",
            )
            assert change["seq"] == received[-1]["seq"] + 1
