"""streams.client against a scripted server: what it passes on, when it
resubscribes, reconnects or gives up."""

import asyncio
import json
import threading

import pytest
from websockets.asyncio.server import serve

from streams.client import SignedOut, StreamClient


def server_message(type_, data=None, **extra):
    return json.dumps(
        {
            "type": type_,
            "stream": extra.pop("stream", "state_machines"),
            "timestamp": "2026-01-01T00:00:00.000Z",
            "data": data or {},
            **extra,
        }
    )


def welcome(heartbeat=20):
    return server_message(
        "welcome",
        {"protocol": 1, "heartbeat_interval": heartbeat, "streams": ["state_machines"]},
        stream="system",
    )


def event(seq, epoch="A"):
    return server_message("state_change", {"n": seq}, seq=seq, epoch=epoch)


async def next_subscribe(socket):
    while (frame := json.loads(await socket.recv()))["action"] != "subscribe":
        pass
    return frame


async def follow(script):
    """Runs a client of `script` (one coroutine per connection, in turn);
    returns (messages passed on, statuses), or raises what ended it."""
    scripts = iter(script)
    messages, statuses = [], []
    stop = threading.Event()

    async def handler(socket):
        await next(scripts)(socket, stop)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = StreamClient(
            f"ws://127.0.0.1:{port}/ws",
            "key",
            "state_machines",
            {},
            on_message=lambda text: messages.append(json.loads(text)),
            on_status=statuses.append,
            stop=stop,
        )
        await asyncio.wait_for(client.run(), 20)
    return messages, statuses


async def test_gaps_new_epochs_and_unavailable_bring_a_resubscribe_and_a_restart_a_reconnect():
    async def first(socket, stop):
        await socket.send(welcome())
        assert "since" not in await next_subscribe(socket)
        await socket.send(server_message("error", {"code": "unavailable", "message": "retry"}))
        await next_subscribe(socket)
        await socket.send(server_message("subscribed", params={}))
        await socket.send(server_message("full_update", {"instances": []}, seq=5, epoch="A"))
        for seq in (5, 6, 8):  # 5: already in the snapshot; 8: a gap
            await socket.send(event(seq))
        assert (await next_subscribe(socket))["since"] == {"epoch": "A", "seq": 6}
        await socket.send(event(9))  # before the new snapshot: not passed on
        await socket.send(server_message("subscribed", params={}))
        await socket.send(server_message("full_update", {"instances": []}, seq=9, epoch="A"))
        await socket.send(event(10))
        await socket.close(1012)

    async def second(socket, stop):
        await socket.send(welcome())
        assert (await next_subscribe(socket))["since"] == {"epoch": "A", "seq": 10}
        await socket.send(server_message("subscribed", {"recovered": True}, params={}))
        await socket.send(event(11))
        await socket.send(event(1, epoch="B"))
        await next_subscribe(socket)
        stop.set()
        await socket.wait_closed()

    messages, statuses = await follow([first, second])
    assert [(m["type"], m.get("seq")) for m in messages] == [
        ("subscribed", None),
        ("full_update", 5),
        ("state_change", 6),
        ("subscribed", None),
        ("full_update", 9),
        ("state_change", 10),
        ("subscribed", None),
        ("state_change", 11),
    ]
    assert [s["status"] for s in statuses] == [
        "unavailable",
        "resubscribing",
        "reconnecting",
        "reconnected",
        "resubscribing",
    ]
    assert statuses[1]["reason"] == "gap" and statuses[4]["reason"] == "new epoch"
    assert statuses[2]["code"] == 1012


async def test_silence_drops_the_connection_and_4401_ends_the_client():
    async def silent(socket, stop):
        await socket.send(welcome(heartbeat=0.3))
        await socket.wait_closed()

    async def signed_out(socket, stop):
        await socket.send(
            server_message("error", {"code": "unauthenticated", "message": "no"}, stream="system")
        )
        await socket.close(4401)

    with pytest.raises(SignedOut, match="signed out"):
        await follow([silent, signed_out])
