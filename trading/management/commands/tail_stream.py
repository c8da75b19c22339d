"""`manage.py tail_stream`: watch one stream from a terminal.

A plain protocol client (PROTOCOL.md) over the `websockets` library: it
authenticates with a DRF token, subscribes, and prints every message of the
subscription as one JSON line (`subscribed`, `full_update`, then events),
sending `ping` every heartbeat interval. It does not reconnect: a dropped
connection ends it with an error, so a script sees the failure.

The token comes from STREAMS_TOKEN, or a prompt that does not echo it,
never from the command line: any account of the machine can read a
process's arguments (`ps`), and shells keep them in their history.
"""

import argparse
import asyncio
import getpass
import json
import sys
import threading
import time

import websockets
from django.core.management.base import BaseCommand, CommandError
from websockets.asyncio.client import connect

from config.env import env_str
from trading.management.process import stop_on_signals

DEFAULT_URL = "ws://127.0.0.1:8080/ws"
CLOSE_REASONS = {
    4401: "unauthenticated: the token is unknown or its user inactive",
    4408: "closed for silence (heartbeat timeout)",
    4429: "closed for sending too many frames",
    1013: "server overloaded or this client too slow",
}


def parse_params(pairs):
    """`["session_id=3", "symbol=BTCUSDT"]` -> dict; CommandError on a pair
    without `=`."""
    params = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--param {pair!r} must look like key=value")
        params[key.strip()] = value.strip()
    return params


def read_token():
    """$STREAMS_TOKEN, else asked for when a person is at the terminal."""
    token = env_str("STREAMS_TOKEN")
    if token is None and sys.stdin.isatty():
        token = getpass.getpass("DRF token: ").strip() or None
    if token is None:
        raise CommandError(
            "a token is needed in STREAMS_TOKEN (not on the command line, where "
            "`ps` shows it): seed_demo writes the demo user's to var/, "
            "`manage.py drf_create_token USER` makes one"
        )
    return token


class Command(BaseCommand):
    help = (
        "Connects to a running server over the streams protocol, subscribes to "
        "STREAM and prints each message as one JSON line until Ctrl-C. The DRF "
        "token comes from $STREAMS_TOKEN, or is asked for on a terminal."
    )
    # A client of a server, not of this project's database.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("stream", help="stream name, e.g. state_machines or pump_indicators")
        parser.add_argument(
            "--param", dest="params", action="append", default=[], metavar="KEY=VALUE",
            help="subscription param, repeatable (e.g. --param session_id=1)",
        )
        parser.add_argument("--url", default=DEFAULT_URL, help=f"server (default: {DEFAULT_URL})")
        parser.add_argument(
            "--count", type=int, default=None, help="exit after printing N messages"
        )
        # Gone, but refused with directions rather than argparse's error,
        # which would print the token once more.
        parser.add_argument("--token", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["token"] is not None:
            raise CommandError(
                "--token is refused: `ps` shows a command line to every account of "
                'the machine. Use STREAMS_TOKEN (e.g. STREAMS_TOKEN="$(cat var/demo.token)"), '
                "or leave it unset on a terminal to be asked"
            )
        token = read_token()
        params = parse_params(options["params"])
        with stop_on_signals() as stop:
            printed = asyncio.run(
                self.tail(options["url"], token, options["stream"], params,
                          count=options["count"], stop=stop)
            )
        self.stderr.write(f"{printed} message(s)")

    async def tail(self, url, token, stream, params, count=None, stop=None, write=None):
        """Prints (or hands to `write`) each message of the subscription;
        returns how many. Raises CommandError for anything that ends it
        other than `count` or `stop`."""
        stop = stop or threading.Event()
        write = write or self.stdout.write
        try:
            async with connect(
                url, additional_headers={"Authorization": f"Token {token}"}, open_timeout=10
            ) as socket:
                return await self._follow(socket, stream, params, count, stop, write)
        except websockets.ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            reason = CLOSE_REASONS.get(code, exc.rcvd.reason if exc.rcvd else "connection lost")
            raise CommandError(f"{url} closed the connection ({code}): {reason}") from None
        except websockets.InvalidURI:
            raise CommandError(f"{url!r} is not a ws:// or wss:// URL") from None
        except websockets.InvalidStatus as exc:
            raise CommandError(
                f"{url} refused the WebSocket handshake: HTTP {exc.response.status_code}"
            ) from None
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise CommandError(f"cannot connect to {url}: {exc}") from None

    async def _follow(self, socket, stream, params, count, stop, write):
        welcome = await self._receive(socket)
        if welcome.get("type") == "error":
            await socket.wait_closed()
            raise CommandError(f"refused: {welcome['data'].get('message')}")
        streams = welcome["data"].get("streams", [])
        if stream not in streams:
            raise CommandError(f"unknown stream {stream!r}; valid streams: {', '.join(streams)}")
        heartbeat = welcome["data"].get("heartbeat_interval", 20)
        await socket.send(json.dumps(
            {"action": "subscribe", "stream": stream, "params": params, "request_id": "tail"}
        ))
        printed = 0
        pinged = time.monotonic()
        while not stop.is_set() and (count is None or printed < count):
            if time.monotonic() - pinged >= heartbeat:
                await socket.send(json.dumps({"action": "ping"}))
                pinged = time.monotonic()
            try:
                text = await asyncio.wait_for(socket.recv(), 0.5)
            except TimeoutError:
                continue
            message = json.loads(text)
            if message.get("type") == "pong":
                continue
            if message.get("type") == "error":
                data = message.get("data", {})
                raise CommandError(f"{data.get('code')}: {data.get('message')}")
            write(text)
            printed += 1
        return printed

    @staticmethod
    async def _receive(socket):
        return json.loads(await asyncio.wait_for(socket.recv(), 10))
