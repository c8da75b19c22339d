"""The load client: N subscribers that behave as PROTOCOL.md asks of a
client, in one process.

Each subscriber keeps the `state_machines` table of one session, applies
events in `seq` order, resubscribes on a gap or a new epoch (counted as
healed, never as delivered), reconnects with full-jitter backoff, and records
when each event arrived, so the harness can tell delivered from healed from
lost and compute commit-to-receipt latency.

A resuming subscriber (`resume`) sends `since` with its position when it
resubscribes, as PROTOCOL.md asks of a client ("Resuming from history"), and
counts recovered against snapshot subscribes: a replayed event it already
applied is a duplicate, one it never got and no snapshot covered is lost.
"""

import asyncio
import json
import random
import time
from array import array

try:
    from orjson import loads
except ImportError:  # requirements-bench.txt has it; json parses ~3x slower
    from json import loads
from websockets.exceptions import InvalidHandshake

from bench.link import ABNORMAL, Link

RECONNECT_CODES = {1001, 1006, 1011, 1012, 1013, 4408}
BACKOFF_BASE, BACKOFF_CAP = 0.5, 30.0
HEARTBEAT = 15.0
PING = json.dumps({"action": "ping"})
SNAPSHOT, RESYNC, RETRY = "snapshot", "resync", "retry"


def backoff(attempt):
    """PROTOCOL.md's reconnect delay: full jitter, 0.5 s base, 30 s cap. Also
    used before retrying a subscribe the server failed (internal_error)."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def event_key(instance_id, version):
    """One int per (instance, version): compact to store per delivery."""
    return (int(instance_id) << 32) | version


class Subscriber:
    def __init__(self, url, token, session_id, resume=False):
        self.url = url
        self.headers = {"Authorization": f"Token {token}"}
        self.request = {
            "action": "subscribe",
            "stream": "state_machines",
            "params": {"session_id": session_id},
        }
        self.resume = resume
        # A future while the harness keeps this client off the network.
        self.away = None
        self.link = None
        self.attempt = self.retries = 0
        self.table = {}
        self.epoch = None
        self.seq = 0
        self.snapshot_seq = 0
        self.snapshot_received = None
        self.resyncing = True
        self.fresh = asyncio.Event()
        self.errors = []
        self.errored = asyncio.Event()
        self.stopping = False
        self.signed_out = False
        self.reconnects = 0
        self.close_codes = []
        self.start_window(0)

    def start_window(self, base):
        """Forget what was counted so far; events after `base` are the ones
        the next measurement expects."""
        self.base = base
        self.got = bytearray()
        self.keys = array("q")
        self.times = array("d")
        self.duplicates = 0
        self.gaps = 0
        self.healed_upto = 0
        self.resyncs = 0
        self.recovered = 0
        self.snapshots = 0

    # Receiving ----------------------------------------------------------

    async def run(self):
        """Connects, subscribes, and reconnects as PROTOCOL.md says until
        told to stop or refused for good."""
        while not self.stopping:
            try:
                self.link = await Link.open(self.url, self.headers, self._on_text, 60)
            except (OSError, InvalidHandshake, TimeoutError):
                code = ABNORMAL
            else:
                self.resyncing = True
                self.link.send_text(self.subscribe())
                code = await self.link.closed
            self.link = None
            self.close_codes.append(code)
            if self.stopping or code not in RECONNECT_CODES:
                self.signed_out = code == 4401
                return
            self.reconnects += 1
            if self.away is not None:  # back as soon as the network is
                await self.away
            else:
                await asyncio.sleep(backoff(self.attempt))
                self.attempt += 1

    def subscribe(self):
        """The subscribe frame, with `since` when resuming from a position."""
        if self.resume and self.epoch is not None:
            return json.dumps({**self.request, "since": {"seq": self.seq, "epoch": self.epoch}})
        return json.dumps(self.request)

    def _on_text(self, link, text, now):
        outcome = self.on_message(text, now)
        if outcome is SNAPSHOT:
            self.attempt = self.retries = 0
        elif outcome is RESYNC:
            link.send_text(self.subscribe())
        elif outcome is RETRY:
            asyncio.get_running_loop().call_later(
                backoff(self.retries), lambda: link.send_text(self.subscribe())
            )
            self.retries += 1

    async def snapshot_or_error(self, timeout):
        """True once a full_update is in, False if an error came first."""
        waits = [
            asyncio.ensure_future(self.fresh.wait()),
            asyncio.ensure_future(self.errored.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return self.fresh.is_set()

    def on_message(self, text, now):
        """What the connection must do next: SNAPSHOT (nothing, a
        full_update came or the history will replay what was missed),
        RESYNC, RETRY (the subscribe failed) or None."""
        msg = loads(text)
        kind = msg["type"]
        if kind == "subscribed" and (msg.get("data") or {}).get("recovered"):
            self.recovered += 1
            self.resyncing = False
            self.fresh.set()
            return SNAPSHOT
        if kind == "full_update":
            self.snapshot_received = now
            self._take_snapshot(msg)
            return SNAPSHOT
        if kind == "error":
            self.errors.append(msg["data"])
            self.errored.set()
            return RETRY if self.resyncing and msg["data"]["code"] == "internal_error" else None
        seq = msg.get("seq")
        if seq is None or self.resyncing:
            return None
        if msg["epoch"] != self.epoch or seq > self.seq + 1:
            self.gaps += 1
            self.resyncing = True
            return RESYNC
        if seq <= self.seq:
            if seq > self.snapshot_seq:
                self.duplicates += 1
            return None
        self.seq = seq
        data = msg["data"]
        index = seq - self.base - 1
        if index >= 0:
            if index >= len(self.got):
                self.got.extend(bytes(index + 1024))
            self.got[index] = 1
            self.keys.append(event_key(data["id"], data["version"]))
            self.times.append(now)
        self._apply(kind, data)
        return None

    def _take_snapshot(self, msg):
        self.snapshots += 1
        if self.epoch is not None:
            self.resyncs += 1
            self.healed_upto = max(self.healed_upto, msg["seq"])
        self.table = {row["id"]: (row["version"], row["state"]) for row in msg["data"]["instances"]}
        self.epoch = msg["epoch"]
        self.seq = self.snapshot_seq = msg["seq"]
        self.resyncing = False
        self.fresh.set()

    def _apply(self, kind, data):
        current = self.table.get(data["id"])
        if current is not None and current[0] >= data["version"]:
            return
        if kind == "instance_removed":
            self.table.pop(data["id"], None)
        else:
            self.table[data["id"]] = (data["version"], data["state"])

    # Accounting ---------------------------------------------------------

    def tally(self, final):
        """(delivered, healed, lost) of the events base+1..final."""
        delivered = healed = lost = 0
        got = self.got
        for index in range(final - self.base):
            if index < len(got) and got[index]:
                delivered += 1
            elif self.base + index + 1 <= self.healed_upto:
                healed += 1
            else:
                lost += 1
        return delivered, healed, lost


class Fleet:
    """Subscribers of one session, with a shared heartbeat; grown in steps
    so one server process serves each fleet size in turn."""

    def __init__(self, url, session_id, resume=False):
        self.url = url
        self.session_id = session_id
        self.resume = resume
        self.subscribers = []
        self.tasks = []
        self.pinger = None

    async def grow(self, tokens, timeout):
        """Adds a subscriber per token, all at once; returns the seconds
        until every subscriber has its first full_update."""
        fresh = [Subscriber(self.url, token, self.session_id, self.resume) for token in tokens]
        self.subscribers += fresh
        self.tasks += [asyncio.create_task(sub.run()) for sub in fresh]
        if self.pinger is None:
            self.pinger = asyncio.create_task(self._heartbeat())
        seconds = await self.all_fresh(timeout)
        if seconds is None:
            raise TimeoutError(
                f"{self.fresh_count()} of {len(self.subscribers)} subscribed after {timeout} s"
            )
        return seconds

    async def all_fresh(self, timeout):
        """Seconds until every subscriber holds a full_update taken since its
        `fresh` flag was cleared; None if some still don't after `timeout`."""
        started = time.monotonic()
        waits = [asyncio.ensure_future(sub.fresh.wait()) for sub in self.subscribers]
        _, pending = await asyncio.wait(waits, timeout=timeout)
        for wait in pending:
            wait.cancel()
        return None if pending else time.monotonic() - started

    def fresh_count(self):
        return sum(sub.fresh.is_set() for sub in self.subscribers)

    def start_window(self, base):
        for sub in self.subscribers:
            sub.start_window(base)

    async def settle(self, final, timeout):
        """Seconds until every subscriber is current at `final` (None if
        some are not after `timeout`); looks only at those still behind, so
        10,000 subscribers can be watched every few milliseconds."""
        started = time.monotonic()
        behind = self.subscribers
        while True:
            behind = [sub for sub in behind if sub.seq < final or sub.resyncing]
            if not behind:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                return None
            await asyncio.sleep(0.01)

    def set_resume(self, resume):
        self.resume = resume
        for sub in self.subscribers:
            sub.resume = resume

    async def leave(self):
        """Drops every connection and keeps the subscribers off the network
        until `come_back`."""
        away = asyncio.get_running_loop().create_future()
        for sub in self.subscribers:
            sub.away = away
            sub.fresh.clear()
            if sub.link is not None:
                sub.link.abort()
        while any(sub.link is not None for sub in self.subscribers):
            await asyncio.sleep(0.01)

    def come_back(self):
        """Every subscriber reconnects at once, as after a network outage."""
        away = self.subscribers[0].away
        for sub in self.subscribers:
            sub.away = None
        away.set_result(None)

    async def storm(self, timeout):
        """Drops every connection at once (as a network blip would) and
        returns the seconds until all have a fresh full_update (None if
        some have none after `timeout`)."""
        for sub in self.subscribers:
            sub.fresh.clear()
            if sub.link is not None:
                sub.link.abort()
        return await self.all_fresh(timeout)

    async def _heartbeat(self):
        while True:
            await asyncio.sleep(HEARTBEAT)
            for sub in self.subscribers:
                if sub.link is not None:
                    sub.link.send_text(PING)

    async def close(self):
        for sub in self.subscribers:
            sub.stopping = True
        if self.pinger is not None:
            self.pinger.cancel()
        for sub in self.subscribers:
            if sub.link is not None:
                sub.link.abort()
        for task in self.tasks:  # some sleep in a reconnect backoff of up to 30 s
            task.cancel()
        await asyncio.gather(*self.tasks, *filter(None, [self.pinger]), return_exceptions=True)
