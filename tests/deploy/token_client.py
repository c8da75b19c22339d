"""A script's WebSocket client as PROTOCOL.md describes it: a DRF token,
reconnecting with exponential backoff and full jitter (0.5 s base, 30 s
cap) and resuming each subscription from the last event it applied."""

import asyncio
import json
import random

import websockets

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def backoff(attempt):
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


class TokenClient:
    """One subscription per stream is enough for these tests."""

    def __init__(self, url, token, ssl_context):
        self.url = url
        self.token = token
        self.ssl = ssl_context
        self.socket = None
        # stream -> {"params", "since": {"seq", "epoch"} of the last event
        # or snapshot applied}.
        self.subscriptions = {}

    async def connect(self, timeout=20):
        """Connects, retrying with backoff until `timeout`; returns welcome."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        attempt = 0
        while True:
            try:
                self.socket = await websockets.connect(
                    self.url,
                    ssl=self.ssl,
                    additional_headers={"Authorization": f"Token {self.token}"},
                )
                return await self.next("welcome")
            except (OSError, websockets.InvalidHandshake):
                delay = backoff(attempt)
                if loop.time() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def reconnect(self):
        """After the connection dropped: connect again and resubscribe to
        everything from where it was; returns each `subscribed`."""
        await self.connect()
        return [
            await self.subscribe(stream, sub["params"])
            for stream, sub in list(self.subscriptions.items())
        ]

    async def subscribe(self, stream, params):
        """Sends subscribe (with `since` when it has a position); returns
        `subscribed`, after the `full_update` when one follows."""
        frame = {"action": "subscribe", "stream": stream, "params": params}
        since = self.subscriptions.get(stream, {}).get("since")
        if since:
            frame["since"] = since
        self.subscriptions[stream] = {"params": params, "since": since}
        await self.socket.send(json.dumps(frame))
        subscribed = await self.next("subscribed")
        if not subscribed["data"].get("recovered"):
            await self.next("full_update")
        return subscribed

    async def next(self, type_, timeout=10):
        """The next message of that type; every event and snapshot on the
        way moves its subscription's position."""
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
            if "seq" in message and message["stream"] in self.subscriptions:
                self.subscriptions[message["stream"]]["since"] = {
                    "seq": message["seq"],
                    "epoch": message["epoch"],
                }
            if message["type"] == type_:
                return message

    async def close(self):
        if self.socket is not None:
            await self.socket.close()
