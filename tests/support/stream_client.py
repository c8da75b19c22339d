"""A client that follows PROTOCOL.md's recovery rules over a real socket,
and a fleet of them running on their own event loop thread.

The dashboard's ws-client.js is the reference client, but it runs in a
browser; fault tests need dozens of clients that behave the same way and
remember everything they saw, so that a test can say afterwards whether
any of them was left with a stale table or silently missed a write:

- `full_update` replaces the table; events with `seq` <= the last one are
  ignored; a gap or a new `epoch` resubscribes; per instance the highest
  `version` wins.
- Close codes 1001/1006/1011/1012/1013/4408 (and a refused connection)
  reconnect with exponential backoff and full jitter, then resubscribe.
- A subscribe answered `unavailable` is sent again after a backoff.
- With `resume=True` a resubscribe carries `since` (the last applied
  position): `subscribed` with `recovered: true` means the missed events
  follow and no `full_update` comes.
- Every `internal_error`, every applied (instance id, version) and every
  snapshot is recorded, in order, with what happened to the connection.

The fleet runs in a thread so that a synchronous test can keep using the
ORM on its own thread (Django refuses sync ORM calls on a thread that runs
an event loop) while the clients keep reading.
"""

import asyncio
import contextlib
import json
import random
import threading
import time
from collections import defaultdict

import websockets

RECONNECT_CODES = frozenset({1001, 1006, 1011, 1012, 1013, 4408})
EVENT_TYPES = frozenset({"instance_added", "state_change", "instance_removed"})


class StreamClient:
    """One connection's worth of a protocol-following client for one
    subscription (`stream`, `params`)."""

    def __init__(
        self,
        name,
        url,
        token,
        stream="state_machines",
        params=None,
        backoff_base=0.5,
        backoff_cap=2.0,
        connect_timeout=5,
        resume=False,
    ):
        self.name = name
        self.url = url
        self.token = token
        self.stream = stream
        self.params = params or {}
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.connect_timeout = connect_timeout
        self.resume = resume
        self.recoveries = 0
        # The table and the position in the scope.
        self.table = {}
        self.seq = None
        self.epoch = None
        self.resyncing = True
        self.highest = {}  # instance id -> highest version seen, removed ones too
        # What happened, for the assertions and for a failure's report.
        self.observations = defaultdict(list)  # id -> [("snapshot"|"event", version, seq)]
        self.snapshots = 0
        self.internal_errors = []
        self.errors = []
        self.unexpected = []
        self.history = []  # (time, what)
        self.connects = 0
        self.synced = asyncio.Event()
        self._ws = None
        self._stopping = False
        self._attempt = 0
        self._request = 0
        self._retry_task = None
        self._frame = {}

    # Running ---------------------------------------------------------------

    def note(self, what):
        self.history.append((round(time.time(), 3), what))

    def backoff(self):
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        delay = random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**self._attempt))
        self._attempt += 1
        return delay

    async def run(self):
        while not self._stopping:
            code = None
            try:
                async with websockets.connect(
                    self.url,
                    additional_headers={"Authorization": f"Token {self.token}"},
                    open_timeout=self.connect_timeout,
                    close_timeout=1,
                    max_size=None,
                ) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.note("connected")
                    code = await self._session(ws)
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
            except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
                code = 1006
                self.note(f"connect failed: {type(exc).__name__}: {exc}")
            finally:
                self._ws = None
                self.resyncing = True
                if self._retry_task is not None:
                    self._retry_task.cancel()
                    self._retry_task = None
            if self._stopping:
                return
            self.note(f"closed {code}")
            if code not in RECONNECT_CODES:
                self.unexpected.append(f"closed with {code}: the protocol says don't reconnect")
                return
            await asyncio.sleep(self.backoff())

    async def _session(self, ws):
        first = json.loads(await asyncio.wait_for(ws.recv(), self.connect_timeout))
        heartbeat = 20
        if first.get("type") == "welcome":
            heartbeat = first["data"].get("heartbeat_interval", heartbeat)
        else:
            self.unexpected.append(f"first message is not welcome: {first}")
            self.handle(first)
        await self.subscribe()
        pinger = asyncio.ensure_future(self._ping(ws, heartbeat))
        try:
            while True:
                try:
                    text = await asyncio.wait_for(ws.recv(), 2 * heartbeat)
                except TimeoutError:
                    self.note("heartbeat: nothing for 2 intervals, reconnecting")
                    return 4408
                self.handle(json.loads(text))
        finally:
            pinger.cancel()

    async def _ping(self, ws, interval):
        while True:
            await asyncio.sleep(interval)
            await ws.send(json.dumps({"action": "ping"}))

    def stop(self):
        self._stopping = True
        if self._ws is not None:
            asyncio.ensure_future(self._ws.close())

    # Protocol --------------------------------------------------------------

    async def subscribe(self):
        """(Re)subscribe: the table stays as it is until the `full_update`."""
        self.resyncing = True
        self._request += 1
        frame = {
            "action": "subscribe",
            "stream": self.stream,
            "params": self.params,
            "request_id": f"{self.name}-{self._request}",
        }
        if self.resume and self.seq is not None:
            frame["since"] = {"seq": self.seq, "epoch": self.epoch}
        self._frame = frame
        if self._ws is not None:
            try:
                await self._ws.send(json.dumps(frame))
            except websockets.ConnectionClosed:
                pass  # the read loop sees the close and reconnects

    def resubscribe(self, why):
        self.note(f"resubscribe: {why}")
        self.resyncing = True  # now: the events already read must not apply
        asyncio.ensure_future(self.subscribe())

    async def _retry_later(self, frame):
        await asyncio.sleep(self.backoff())
        if self._ws is not None and frame is self._frame:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._ws.send(json.dumps(frame))

    def handle(self, message):
        type_ = message.get("type")
        if type_ == "error":
            self._handle_error_or_note(message)
        elif message.get("stream") != self.stream:
            return
        elif type_ == "subscribed":
            self._subscribed(message)
        elif type_ == "full_update":
            self._full_update(message)
        elif type_ in EVENT_TYPES:
            self._event(message)
        elif type_ == "unsubscribed":
            self.unexpected.append(f"unsubscribed by the server: {message.get('data')}")

    def _handle_error_or_note(self, message):
        data = message.get("data") or {}
        code = data.get("code")
        if code == "internal_error":
            self.internal_errors.append(message)
        elif code == "unavailable" and message.get("request_id") == self._frame.get("request_id"):
            self.note("subscribe answered unavailable; retrying")
            self._retry_task = asyncio.ensure_future(self._retry_later(self._frame))
        else:
            self.errors.append(message)
        self.note(f"error {code}: {data.get('message')}")

    def _subscribed(self, message):
        if (message.get("data") or {}).get("recovered") and message.get(
            "request_id"
        ) == self._frame.get("request_id"):
            # The server replays what we missed after self.seq: go on
            # applying from there, table untouched.
            self.resyncing = False
            self.recoveries += 1
            self._attempt = 0
            self.note(f"recovered from seq={self.seq} epoch={self.epoch}")

    def _full_update(self, message):
        instances = message["data"]["instances"]
        self.table = {row["id"]: row for row in instances}
        for row in instances:
            self.observations[row["id"]].append(("snapshot", row["version"], message["seq"]))
            self.highest[row["id"]] = row["version"]
        self.seq, self.epoch = message["seq"], message["epoch"]
        self.resyncing = False
        self.snapshots += 1
        self._attempt = 0
        self.note(
            f"full_update seq={message['seq']} epoch={message['epoch']} rows={len(instances)}"
        )
        self.synced.set()

    def _event(self, message):
        if self.resyncing:
            return
        seq, epoch = message["seq"], message["epoch"]
        if epoch != self.epoch:
            self.resubscribe(f"new epoch {epoch} (had {self.epoch})")
            return
        if seq <= self.seq:
            return
        if seq > self.seq + 1:
            self.resubscribe(f"gap: seq {seq} after {self.seq}")
            return
        self.seq = seq
        data = message["data"]
        row_id, version = data["id"], data["version"]
        if version <= self.highest.get(row_id, 0):
            return
        self.highest[row_id] = version
        self.observations[row_id].append(("event", version, seq))
        if message["type"] == "instance_removed":
            self.table.pop(row_id, None)
        else:
            self.table[row_id] = data

    def view(self):
        """The table as {id: (state, version)}."""
        return {row_id: (row["state"], row["version"]) for row_id, row in self.table.items()}


class Fleet:
    """Many StreamClients on one event loop in a background thread."""

    def __init__(self, clients):
        self.clients = clients
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fleet", daemon=True)
        self.tasks = []

    def call(self, function, timeout=10):
        """Run `function()` on the fleet's loop and return its result."""

        async def wrapper():
            return function()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def start(self, timeout=20):
        """Starts every client and waits until each has its first snapshot."""
        self.thread.start()

        async def launch():
            for client in self.clients:
                client.synced = asyncio.Event()
                self.tasks.append(asyncio.ensure_future(client.run()))
            await asyncio.wait_for(
                asyncio.gather(*(client.synced.wait() for client in self.clients)), timeout
            )

        asyncio.run_coroutine_threadsafe(launch(), self.loop).result(timeout + 5)
        return self

    def resubscribe_all(self, why):
        self.call(lambda: [client.resubscribe(why) for client in self.clients])

    def views(self):
        return self.call(lambda: {client.name: client.view() for client in self.clients})

    def stop(self, timeout=5):
        if not self.thread.is_alive():
            return

        async def shutdown():
            for client in self.clients:
                client.stop()
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=timeout)
            for task in self.tasks:
                task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout + 2)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
