"""A Python client of the streams protocol that rides out server restarts.

The browser has its own (static/streams/ws-client.js); this is the same
contract (PROTOCOL.md: close codes, `unavailable`, heartbeat, sequence and
recovery) for terminals and scripts, such as `manage.py tail_stream`. It
lives apart from the commands because it knows nothing of trading, and
apart from the server code because the server never imports it.

Until the first welcome, a failure ends it: a wrong URL or a server that is
not running is said at once instead of retried forever. After that, every
drop but 1000 (normal) and 4401 (signed out) is retried with backoff, and
each new connection resubscribes from the last event it passed on.

Longer than most modules here: it is a whole protocol client (reconnect,
backoff, heartbeat, resume, resync), kept in one place so its rules read in
one sitting.
"""

import asyncio
import json
import random
import time

import websockets
from websockets.asyncio.client import connect

from streams.wire import protocol as proto

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# Codes that ask a client to stay away for a while, as the browser's.
BACKOFF_FLOOR = {proto.CLOSE_RATE_LIMITED: 60.0, proto.CLOSE_TRY_AGAIN_LATER: 2.0}
# A connection that lived this long was healthy: the next drop starts the
# backoff afresh, where a server that accepts and then fails at once does not.
STABLE_CONNECTION = 10.0
DEFAULT_HEARTBEAT = 20
# How often the loop looks at the stop flag and the clocks.
POLL = 0.5


class StreamEnded(Exception):
    """The stream cannot go on (refused, forbidden, closed normally); the
    message says why."""


class SignedOut(StreamEnded):
    """4401: retrying with the same token cannot help."""


class Unreachable(StreamEnded):
    """Nothing answers at the URL before the first welcome (no server, a
    wrong port): said at once rather than retried forever."""


class Dropped(Exception):
    """This connection is done for (silence); reconnect."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code


def reconnect_delay(attempt, code=None, rand=random.random):
    """Full jitter over an exponential window, on top of the code's floor:
    clients that lost the same server at the same moment spread out."""
    window = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return BACKOFF_FLOOR.get(code, 0.0) + rand() * window


class StreamClient:
    """Follows one subscription, handing each new message of it (text) to
    `on_message` and each change of connection to `on_status` (a dict),
    until `stop` (a threading.Event) is set; raises StreamEnded."""

    def __init__(self, url, token, stream, params, *, on_message, on_status, stop):
        self.url, self.token = url, token
        self.stream, self.params = stream, params
        self.on_message, self.on_status, self.stop = on_message, on_status, stop
        self.position = None  # (epoch, seq) of the last event passed on
        self.welcomed = False

    async def run(self):
        attempt, code, reason = 0, None, None
        while not self.stop.is_set():
            if attempt:
                delay = reconnect_delay(attempt, code)
                self.on_status(
                    {
                        "status": "reconnecting",
                        "attempt": attempt,
                        "code": code,
                        "reason": reason,
                        "delay": round(delay, 3),
                    }
                )
                if await self._sleep(delay):
                    return
            opened = time.monotonic()
            try:
                async with connect(
                    self.url,
                    open_timeout=10,
                    additional_headers={"Authorization": f"Token {self.token}"},
                ) as socket:
                    await Connection(self, socket).follow()
                    return
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                reason = (exc.rcvd.reason if exc.rcvd else "") or "connection lost"
                if code == proto.CLOSE_UNAUTHENTICATED:
                    raise SignedOut(_signed_out(self.url)) from None
                if code == proto.CLOSE_NORMAL:
                    raise StreamEnded(f"{self.url} closed the connection normally") from None
            except Dropped as exc:
                code, reason = exc.code, str(exc)
            except websockets.InvalidURI:
                raise StreamEnded(f"{self.url!r} is not a ws:// or wss:// URL") from None
            except websockets.InvalidStatus as exc:
                status = exc.response.status_code
                if status < 500 or not self.welcomed:
                    raise StreamEnded(
                        f"{self.url} refused the WebSocket handshake: HTTP {status}"
                    ) from None
                code, reason = None, f"HTTP {status}"
            except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
                if not self.welcomed:
                    raise Unreachable(f"cannot connect to {self.url}: {exc}") from None
                code, reason = None, f"cannot connect: {exc}"
            stable = self.welcomed and time.monotonic() - opened >= STABLE_CONNECTION
            attempt = 1 if stable else attempt + 1

    async def _sleep(self, seconds):
        """True when `stop` was set meanwhile."""
        return await asyncio.to_thread(self.stop.wait, seconds)


class Connection:
    """One socket's life: welcome, subscribe, then messages until it drops;
    gaps, a new epoch and `unavailable` each bring a resubscribe."""

    def __init__(self, client, socket):
        self.client, self.socket = client, socket
        self.heartbeat = DEFAULT_HEARTBEAT
        self.heard = self.pinged = time.monotonic()
        self.syncing = True  # until the subscription's snapshot (or recovery)
        self.subscribes = 0
        self.retry_at = None  # when to send a subscribe answered `unavailable`

    async def follow(self):
        client = self.client
        welcome = await self._receive()
        if welcome.get("type") != "welcome":
            await self._on_error(welcome)  # raises for a refusal
            raise StreamEnded(f"expected a welcome, got {welcome.get('type')!r}")
        streams = welcome["data"].get("streams", [])
        if client.stream not in streams:
            raise StreamEnded(
                f"unknown stream {client.stream!r}; valid streams: {', '.join(streams)}"
            )
        self.heartbeat = welcome["data"].get("heartbeat_interval", DEFAULT_HEARTBEAT)
        if client.welcomed:
            client.on_status({"status": "reconnected", "url": client.url})
        client.welcomed = True
        await self._subscribe()
        while not client.stop.is_set():
            text = await self._receive_text()
            if text is not None:
                await self._handle(text, json.loads(text))
            if self.retry_at is not None and time.monotonic() >= self.retry_at:
                await self._subscribe()

    async def _receive_text(self):
        """The next frame, or None after POLL seconds without one; pings
        every heartbeat and drops a connection silent for two."""
        now = time.monotonic()
        if now - self.heard >= 2 * self.heartbeat:
            await self.socket.close(proto.CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout")
            raise Dropped(
                proto.CLOSE_HEARTBEAT_TIMEOUT, f"nothing heard for {2 * self.heartbeat} s"
            )
        if now - self.pinged >= self.heartbeat:
            await self.socket.send(json.dumps({"action": "ping"}))
            self.pinged = now
        try:
            text = await asyncio.wait_for(self.socket.recv(), POLL)
        except TimeoutError:
            return None
        self.heard = time.monotonic()
        return text

    async def _receive(self):
        while (text := await self._receive_text()) is None:
            pass
        return json.loads(text)

    async def _handle(self, text, message):
        kind = message.get("type")
        if kind == "pong":
            return
        if kind == "error":
            await self._on_error(message)
            return
        if kind == "subscribed":
            self.subscribes = 0
            self.syncing = not message.get("data", {}).get("recovered")
        if "seq" in message and not await self._in_sequence(message):
            return
        self.client.on_message(text)
        if kind == "unsubscribed" and message.get("data", {}).get("reason"):
            raise StreamEnded(f"the server ended the subscription: {message['data']['reason']}")

    async def _in_sequence(self, message):
        """Whether to pass `message` on; keeps the position, and resubscribes
        on a gap or a new epoch (PROTOCOL.md "Sequence and recovery")."""
        here = (message["epoch"], message["seq"])
        if message["type"] == "full_update":
            self.syncing = False
            self.client.position = here
            return True
        last = self.client.position
        if self.syncing or (last and here[0] == last[0] and here[1] <= last[1]):
            return False  # before the snapshot, or already passed on
        if last is not None and (here[0] != last[0] or here[1] != last[1] + 1):
            self.client.on_status(
                {
                    "status": "resubscribing",
                    "reason": "gap" if here[0] == last[0] else "new epoch",
                    "last": list(last),
                    "got": list(here),
                }
            )
            await self._subscribe()
            return False
        self.client.position = here
        return True

    async def _on_error(self, message):
        data = message.get("data", {})
        code = data.get("code")
        if code == "unavailable":
            self.subscribes += 1
            delay = reconnect_delay(self.subscribes)
            self.client.on_status(
                {
                    "status": "unavailable",
                    "retry_in": round(delay, 3),
                    "message": data.get("message"),
                }
            )
            self.retry_at = time.monotonic() + delay
        elif code == "unauthenticated":
            raise SignedOut(_signed_out(self.client.url))
        elif code != "rate_limited":  # that one is a warning; 4429 follows if it goes on
            raise StreamEnded(f"{code}: {data.get('message')}")

    async def _subscribe(self):
        client = self.client
        frame = {
            "action": "subscribe",
            "stream": client.stream,
            "params": client.params,
            "request_id": "tail",
        }
        if client.position is not None:
            frame["since"] = {"epoch": client.position[0], "seq": client.position[1]}
        self.syncing, self.retry_at = True, None
        await self.socket.send(json.dumps(frame))


def _signed_out(url):
    return (
        f"signed out: {url} does not accept this token (unknown, deleted, or its "
        "user inactive); make a new one with `manage.py drf_create_token USER`"
    )
