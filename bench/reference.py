"""The reference: a minimal plain-`websockets` broadcast server fed the same
events as daphne, so every result is also a ratio to what Python can do on
this machine.

It speaks just enough of PROTOCOL.md for the load client (token auth,
welcome, subscribe with a held-back `full_update`, ping), joins each group
once on the same channel layer, and hands every pre-encoded frame to
`websockets.broadcast`. Sequence numbers, snapshots and group names come
from the project itself, so only the server machinery differs.

    python -m bench.reference --port 8101
"""

import argparse
import asyncio
import json

import django

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.conf import settings  # noqa: E402
from rest_framework.authentication import TokenAuthentication  # noqa: E402
from rest_framework.exceptions import AuthenticationFailed  # noqa: E402
from websockets.asyncio.server import broadcast, serve  # noqa: E402

from streams.infra import sequence  # noqa: E402
from streams.wire import errors, groups, registry  # noqa: E402
from streams.wire import protocol as proto  # noqa: E402


@sync_to_async
def user_for(header):
    scheme, _, key = (header or "").partition(" ")
    if scheme.lower() != "token":
        return None
    try:
        return TokenAuthentication().authenticate_credentials(key.strip())[0]
    except AuthenticationFailed:
        return None


class Reference:
    def __init__(self, layer):
        self.layer = layer
        self.channel = None
        self.ready = {}  # group -> sockets that get every frame
        self.held = {}  # group -> {socket: frames held during its snapshot}

    async def start(self):
        self.channel = await self.layer.new_channel("reference.")
        asyncio.ensure_future(self.pump())

    async def pump(self):
        while True:
            batch = await self.layer.receive(self.channel)
            group = batch.get("group")
            for message in batch.get("frames", ()):
                for frames in self.held.get(group, {}).values():
                    frames.append(message)
                broadcast(self.ready.get(group, ()), message["frame"])

    async def handle(self, ws):
        user = await user_for(ws.request.headers.get("Authorization"))
        if user is None:
            await ws.send(proto.encode(proto.error("unauthenticated", "token required")))
            await ws.close(proto.CLOSE_UNAUTHENTICATED)
            return
        await ws.send(proto.encode(proto.message("welcome", proto.SYSTEM, {"protocol": 1})))
        try:
            async for text in ws:
                frame = json.loads(text)
                if frame.get("action") == "subscribe":
                    await self.subscribe(ws, user, frame)
                elif frame.get("action") == "ping":
                    await ws.send(proto.encode(proto.message("pong", proto.SYSTEM)))
        except errors.ProtocolError as exc:
            await ws.send(proto.encode(proto.error(exc.code, exc.message)))
        finally:
            for sockets in self.ready.values():
                sockets.discard(ws)

    async def subscribe(self, ws, user, frame):
        """As the consumer does: join, read seq, snapshot, then send what
        arrived meanwhile and is newer than the snapshot."""
        stream = registry.get(frame.get("stream"))
        params = stream.parse_params(frame.get("params") or {})
        await sync_to_async(stream.authorize)(user, params)
        group = groups.stream_group(stream.name, stream.scope(params))
        if group not in self.ready:
            self.ready[group] = set()
            await self.layer.group_add(group, self.channel)
        self.ready[group].discard(ws)
        held = self.held.setdefault(group, {})[ws] = []
        session_id = params.get("session_id")
        try:
            await ws.send(
                proto.encode(
                    proto.message(
                        "subscribed",
                        stream.name,
                        {},
                        params=frame.get("params"),
                        session_id=session_id,
                    )
                )
            )
            epoch, seq = await sequence.store().current(group)
            data = await sync_to_async(stream.snapshot)(params)
            await ws.send(
                proto.encode(
                    proto.message(
                        "full_update",
                        stream.name,
                        data,
                        session_id=session_id,
                        seq=seq,
                        epoch=epoch,
                    )
                )
            )
            for message in held:
                if message["epoch"] != epoch or message["seq"] > seq:
                    await ws.send(message["frame"])
            self.ready[group].add(ws)
        finally:
            del self.held[group][ws]


async def main(port):
    reference = Reference(get_channel_layer())
    await reference.start()
    async with serve(
        reference.handle,
        "127.0.0.1",
        port,
        compression=None,
        max_size=settings.STREAMS_MAX_FRAME_BYTES,
        backlog=2048,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
