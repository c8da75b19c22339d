"""`manage.py tail_stream`: watch one stream from a terminal.

A plain protocol client (PROTOCOL.md) over the `websockets` library: it
authenticates with a DRF token, subscribes, and prints every message of the
subscription as one JSON line (`subscribed`, `full_update`, then events),
sending `ping` every heartbeat interval. Once connected it rides out server
restarts and dropped connections (streams/client.py), reporting each
reconnect as one JSON line on stderr, so stdout carries only the protocol's
messages; it ends with an error when signed out (4401) or refused.

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

from django.core.management.base import BaseCommand, CommandError

from config.env import env_int, env_str
from streams import StreamClient, StreamEnded, Unreachable
from trading.management.process import stop_on_signals

# What a subscription sends before its events: printed, never counted.
PREAMBLE = frozenset({"subscribed", "full_update"})


def default_url():
    """$STREAMS_URL, else the address `make run` serves on: PORT picks the
    port there (default 8080), so it does here too."""
    return env_str("STREAMS_URL") or f"ws://127.0.0.1:{env_int('PORT', 8080)}/ws"


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
            "--param",
            dest="params",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="subscription param, repeatable (e.g. --param session_id=1)",
        )
        parser.add_argument(
            "--url",
            default=None,
            help="server (default: $STREAMS_URL, else ws://127.0.0.1:$PORT/ws, PORT 8080)",
        )
        parser.add_argument(
            "--count",
            type=int,
            default=None,
            metavar="N",
            help="exit after N events of the stream (subscribed and full_update are "
            "printed, not counted; 0: print the snapshot and exit)",
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
                self.tail(
                    options["url"] or default_url(),
                    token,
                    options["stream"],
                    params,
                    count=options["count"],
                    stop=stop,
                )
            )
        self.stderr.write(f"{printed} event(s)")

    async def tail(self, url, token, stream, params, count=None, stop=None, write=None):
        """Prints (or hands to `write`) each message of the subscription;
        returns how many events it printed. Raises CommandError for anything
        that ends it other than `count` events or `stop`."""
        stop = stop or threading.Event()
        write = write or self.stdout.write
        events = 0

        def on_message(text):
            nonlocal events
            write(text)
            kind = json.loads(text).get("type")
            if kind == "subscribed":
                return
            if kind not in PREAMBLE:
                events += 1
            # `--count 0`: the snapshot, then stop.
            if count is not None and events >= count:
                stop.set()

        def on_status(status):
            self.stderr.write(json.dumps(status))

        client = StreamClient(
            url, token, stream, params, stop=stop, on_message=on_message, on_status=on_status
        )
        try:
            await client.run()
        except Unreachable as exc:
            raise CommandError(
                f"{exc}. Is the server running? `make run` serves on port 8080, or on "
                "$PORT; point this command at it with --url, $STREAMS_URL or $PORT"
            ) from None
        except StreamEnded as exc:
            raise CommandError(str(exc)) from None
        return events
