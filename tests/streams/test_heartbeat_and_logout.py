"""Heartbeat timeout (4408) and logout closing a browser's socket (4401)."""

import pytest
from channels.db import database_sync_to_async as db
from django.test import override_settings

from streams.connection import sweeps
from streams.fanout import hub as hubs
from streams.publishing.publish import publisher

pytestmark = pytest.mark.django_db(transaction=True)


class Clock:
    now = 5000.0

    @classmethod
    def time(cls):
        return cls.now


@override_settings(STREAMS_HEARTBEAT_INTERVAL=20)
async def test_a_client_silent_for_three_heartbeats_is_closed_with_4408(
    connect, owner, monkeypatch
):
    monkeypatch.setattr(sweeps.Clock, "timer", staticmethod(Clock.time))
    quiet = await connect(owner)
    chatty = await connect(owner)
    Clock.now += 50
    await chatty.send({"action": "ping"})
    await chatty.receive()
    Clock.now += 11  # quiet: 61 s > 60 s; chatty: 11 s
    [hub] = list(hubs.local_hubs())
    sweeps.close_quiet(hub, 20)
    assert await quiet.close_code() == 4408
    await chatty.send({"action": "ping"})
    assert (await chatty.receive())["type"] == "pong"
    assert hub.stats["heartbeat_timeouts"] == 1


async def test_logging_out_closes_that_browsers_socket_with_4401(connect, owner, client):
    await db(client.force_login)(owner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    browser = await connect(
        headers=[
            (b"cookie", cookie),
            (b"origin", b"http://127.0.0.1:8080"),
            (b"host", b"127.0.0.1:8080"),
        ]
    )
    script = await connect(owner)
    await db(client.logout)()
    await db(publisher().flush)()
    error = await browser.receive()
    assert error["type"] == "error" and error["data"]["code"] == "unauthenticated"
    assert await browser.close_code() == 4401
    await script.send({"action": "ping"})
    assert (await script.receive())["type"] == "pong"
