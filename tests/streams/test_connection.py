"""PROTOCOL.md "Connection": authentication, origin, welcome."""

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def test_token_client_gets_welcome_listing_streams(connect, owner):
    client = await connect(owner, welcome=False)
    welcome = await client.receive()
    assert welcome["type"] == "welcome"
    assert welcome["stream"] == "system"
    assert welcome["data"]["protocol"] == 1
    assert welcome["data"]["heartbeat_interval"] == 20
    assert "state_machines" in welcome["data"]["streams"]


async def test_trailing_slash_path_works_too(connect, owner):
    client = await connect(owner, path="/ws/")
    await client.send({"action": "ping", "request_id": 1})
    assert (await client.receive())["type"] == "pong"


async def test_anonymous_gets_unauthenticated_error_then_4401(connect):
    client = await connect(welcome=False)
    error = await client.receive()
    assert error["type"] == "error"
    assert error["stream"] == "system"
    assert error["data"]["code"] == "unauthenticated"
    assert await client.close_code() == 4401


async def test_bad_token_is_unauthenticated(connect):
    client = await connect(headers=[(b"authorization", b"Token not-a-real-token")], welcome=False)
    assert (await client.receive())["data"]["code"] == "unauthenticated"
    assert await client.close_code() == 4401


async def test_inactive_users_token_is_unauthenticated(connect, owner, token_for):
    owner.is_active = False
    await owner.asave()
    client = await connect(owner, welcome=False)
    assert (await client.receive())["data"]["code"] == "unauthenticated"


async def test_session_cookie_authenticates_a_browser(connect, owner, client):
    await client.aforce_login(owner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = await connect(
        headers=[
            (b"cookie", cookie),
            (b"origin", b"http://127.0.0.1:8080"),
            (b"host", b"127.0.0.1:8080"),
        ]
    )
    await ws.send({"action": "ping"})
    assert (await ws.receive())["type"] == "pong"


@override_settings(ALLOWED_HOSTS=["dashboard.example.com"])
async def test_foreign_origin_is_refused_at_handshake(owner):
    communicator = WebsocketCommunicator(
        application, "/ws", headers=[(b"origin", b"http://evil.example.net")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


@override_settings(STREAMS_ALLOWED_ORIGINS=["https://dashboard.example.com"])
async def test_a_configured_origin_is_accepted(connect, owner):
    client = await connect(owner, headers=[(b"origin", b"https://dashboard.example.com")])
    await client.send({"action": "ping"})
    assert (await client.receive())["type"] == "pong"


async def test_ping_echoes_request_id(connect, owner):
    client = await connect(owner)
    await client.send({"action": "ping", "request_id": "abc"})
    pong = await client.receive()
    assert pong == {**pong, "type": "pong", "stream": "system", "request_id": "abc", "data": {}}
