"""What `make run` shows on its console: the URL, the coordinator's lines,
and none of the libraries' DEBUG chatter unless LOG_LEVEL asks for it."""

import asyncio
import socket

import pytest
from channels.db import database_sync_to_async as db

from tests.support import processes
from tests.support.live import Serve
from tests.trading.test_live import demo_instance, tail
from trading.models import StrategyInstance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


async def test_serve_prints_no_debug_lines_by_default(owner, trading_session, token_for):
    await demo_instance(trading_session)
    token = await db(token_for)(owner)
    params = {"session_id": str(trading_session.pk)}
    # As `make run` starts it: DEBUG on, the in-memory layer.
    with Serve(
        "--coordinator",
        "--session",
        trading_session.pk,
        "--seed",
        3,
        "--speed",
        20,
        DEBUG="1",
        REDIS_URL="",
        LOG_LEVEL="",
    ) as server:
        await tail(server.ws_url, token, "state_machines", params, count=2)
        code, out = await asyncio.to_thread(server.stop)

    assert code == 0
    assert f"serving http://127.0.0.1:{server.port}/" in out
    assert "every instance is in a consistent state" in out
    assert [line for line in out.splitlines() if " DEBUG " in line] == []
    assert "daphne" not in out


@pytest.mark.django_db(transaction=True)
def test_serve_on_a_taken_port_exits_non_zero_with_the_reason_and_runs_no_coordinator(
    trading_session,
):
    """A second `make run` in another terminal must say it could not serve,
    not print "serving" and exit 0, and must not run (then settle) a
    coordinator beside the first one's."""
    instance = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="X")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = processes.manage(
            "serve",
            "--port",
            port,
            "--coordinator",
            "--session",
            trading_session.pk,
            "--speed",
            0,
            REDIS_URL="",
            timeout=60,
        )
    assert result.returncode != 0
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    instance.refresh_from_db()
    assert instance.version == 1  # no coordinator ran
