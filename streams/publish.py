"""The one way to send a stream event.

`publish_on_commit` is what model signal handlers call: the event leaves
only after the transaction commits. Events go through one publisher per
process: a daemon thread with its own event loop that numbers each event
(seq/epoch), encodes it once per scope and hands it to the channel layer,
strictly in the order they were published. That works from any caller (a
sync view, manage.py, a thread, code running inside an event loop) without
`async_to_sync`, whose per-call loops leak layer connections
(channels_redis#125).

Longer than most modules here because the publisher's ordering, conflation
and retry share one queue and one loop: split, each would need the others'
state.
"""

import asyncio
import atexit
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from functools import partial

from django.conf import settings
from django.db import transaction

from streams import hub as hubs
from streams import groups, layer, metrics, registry, relay, sequence
from streams.errors import is_transient
from streams.protocol import encode, message

logger = logging.getLogger(__name__)


@dataclass
class Event:
    stream: str
    type: str
    data: dict
    keys: dict = field(default_factory=dict)
    conflate_key: object = None
    # When publish() was called: on commit, for publish_on_commit.
    published_at: float = field(default_factory=time.perf_counter)


@dataclass
class Control:
    """A connection-level instruction to the sockets of a group (close,
    recheck): no seq, no history."""

    group: str
    payload: dict


def publish(stream, type_, data, *, conflate_key=None, **keys):
    """Queue an event now. `keys` (session_id=..., symbol=...) decide which
    scopes of the stream receive it; events of a conflated stream with the
    same `conflate_key` are merged, latest wins."""
    registry.get(stream)  # fail fast on a typo, in the caller
    publisher().submit(Event(stream, type_, data, keys, conflate_key))


def publish_on_commit(stream, type_, data, *, using=None, **keys):
    transaction.on_commit(partial(publish, stream, type_, data, **keys), using=using)


def new_epoch(stream, **keys):
    """The next event of each scope `keys` route to starts a new epoch, so
    their subscribers resync. Called by a writer that starts again after it
    may have died between a commit and its events (the coordinator killed
    mid-tick): nothing else would tell clients what they missed."""
    stream = registry.get(stream)
    publisher().renew(groups.stream_group(stream.name, scope) for scope in stream.routes(keys))


def publish_control(group, **payload):
    """Send a connection-level instruction (e.g. close) to the sockets of a
    group, without a sequence number."""
    publisher().submit(Control(group, payload))


def publish_control_on_commit(group, *, using=None, **payload):
    transaction.on_commit(partial(publish_control, group, **payload), using=using)


class Publisher:
    def __init__(self):
        self._loop = None
        self._queue = None
        self._lock = threading.Lock()
        self._conflated = {}
        self._broken = set()

    def renew(self, groups_):
        self._ensure_started()
        self._loop.call_soon_threadsafe(self._broken.update, list(groups_))

    def submit(self, item):
        self._ensure_started()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def flush(self, timeout=10):
        """Wait until everything submitted so far has been handed on."""
        if self._loop is None:
            return True
        done = asyncio.run_coroutine_threadsafe(self._drain(), self._loop)
        try:
            done.result(timeout)
            return True
        except TimeoutError:
            return False

    async def _drain(self):
        while self._conflated:
            await asyncio.sleep(0.01)
        await self._queue.join()

    def _ensure_started(self):
        if self._loop is not None:
            return
        with self._lock:
            if self._loop is not None:
                return
            ready = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(ready,), name="streams-publisher", daemon=True
            )
            thread.start()
            ready.wait()
            atexit.register(self.flush, 5)

    def _run(self, ready):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._queue = asyncio.Queue()
        self._loop = loop
        loop.create_task(self._work())
        ready.set()
        loop.run_forever()

    async def _work(self):
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, Event):
                    await self._accept(item)
                else:
                    await layer.group_send(
                        item.group, {"type": hubs.CONTROL, "group": item.group, **item.payload}
                    )
            except Exception:
                logger.exception("publisher: could not send %r", item)
            finally:
                self._queue.task_done()

    async def _accept(self, event):
        url = layer.relay_target()
        if url is not None:
            # Blocking this thread's loop keeps the order, and unlike an
            # executor it still works while the interpreter exits (the
            # atexit flush of a manage.py command).
            relay.forward(url, event)
            return
        stream = registry.get(event.stream)
        window = stream.conflate_seconds()
        if not window or event.conflate_key is None:
            await self._deliver(stream, event)
            return
        key = (event.stream, event.conflate_key)
        first = key not in self._conflated
        self._conflated[key] = event
        if first:
            self._loop.call_later(window, self._release, key)

    def _release(self, key):
        event = self._conflated.pop(key, None)
        if event is not None:
            self._queue.put_nowait(replace(event, conflate_key=None))

    async def _deliver(self, stream, event):
        session_id = event.keys.get("session_id") if stream.session_scoped else None
        # seq and epoch are appended per scope by the counter (sequence.seal).
        head = encode(message(event.type, stream.name, event.data, session_id=session_id))[:-1]
        for scope in stream.routes(event.keys):
            group = groups.stream_group(stream.name, scope)
            try:
                epoch, seq, frame = await self._persist(
                    lambda: sequence.store().next(group, head, fresh=group in self._broken)
                )
                self._broken.discard(group)
                payload = {"type": hubs.FRAME, "group": group, "frame": frame,
                           "seq": seq, "epoch": epoch}
                await self._persist(lambda: layer.group_send(group, payload))
                metrics.PUBLISH_SECONDS.observe(time.perf_counter() - event.published_at)
            except Exception:
                # Its subscribers must not take the next event for the one
                # after this: it starts a new epoch, and they resync.
                self._broken.add(group)
                logger.exception(
                    "publisher: an event of %s was lost; the scope's next event "
                    "starts a new epoch", group,
                )

    async def _persist(self, attempt):
        """`attempt()`, tried again while a store is away (a restart, a
        failover), for up to STREAMS_PUBLISH_RETRY_SECONDS: later events
        wait behind it, so order holds and nothing is numbered out of turn."""
        deadline = self._loop.time() + settings.STREAMS_PUBLISH_RETRY_SECONDS
        backoff = 0.1
        while True:
            try:
                return await attempt()
            except Exception as exc:
                if not is_transient(exc) or self._loop.time() + backoff > deadline:
                    raise
                logger.warning("publisher: %s: %s; retrying in %.1f s",
                               type(exc).__name__, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)


_publisher = Publisher()


def publisher():
    return _publisher
