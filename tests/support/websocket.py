"""WebSocket test helpers: connect as someone, read messages checked
against the protocol's schemas. The fixtures are offered to a test package
by importing them into its conftest."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from streams.fanout import hub
from streams.publishing.publish import publisher
from streams.wire import messages


class Client:
    """A WebsocketCommunicator that speaks PROTOCOL.md and checks every
    message it receives against the schemas in streams.wire.protocol."""

    def __init__(self, communicator):
        self.communicator = communicator

    async def send(self, frame):
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout=2):
        output = await self.communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            raise ConnectionClosed(output.get("code"))
        body = json.loads(output["text"])
        messages.validate(body)  # raises, naming the field, when it breaks the protocol
        return body

    async def receive_type(self, type_, timeout=2):
        """Skip to the next message of one type."""
        while True:
            body = await self.receive(timeout)
            if body["type"] == type_:
                return body

    async def subscribe(self, stream="state_machines", params=None, **extra):
        await self.send({"action": "subscribe", "stream": stream, "params": params or {}, **extra})
        subscribed = await self.receive()
        assert subscribed["type"] == "subscribed", subscribed
        snapshot = await self.receive()
        assert snapshot["type"] == "full_update", snapshot
        return snapshot

    async def nothing(self, timeout=0.3):
        return await self.communicator.receive_nothing(timeout)

    async def close_code(self, timeout=2):
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.close", output
        return output.get("code")

    async def disconnect(self):
        await self.communicator.disconnect()


class ConnectionClosed(Exception):
    pass


@pytest.fixture
async def connect(token_for):
    """connect(user=None, headers=(), path="/ws") -> Client, after welcome."""
    clients = []

    async def make(user=None, headers=(), path="/ws", welcome=True):
        headers = list(headers)
        if user is not None:
            key = await database_sync_to_async(token_for)(user)
            headers.append((b"authorization", f"Token {key}".encode()))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        client = Client(communicator)
        clients.append(client)
        if welcome:
            body = await client.receive()
            assert body["type"] == "welcome", body
        return client

    yield make
    for client in clients:
        await client.disconnect()
    await database_sync_to_async(publisher().flush)()
    for running in hub.local_hubs():
        if running.loop is asyncio.get_running_loop():
            await running.stop()
            del hub._hubs[running.loop]


@pytest.fixture
def flush():
    """Wait until every event published so far has reached the hubs."""

    async def wait():
        await database_sync_to_async(publisher().flush)()

    return wait
