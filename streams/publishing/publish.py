"""The one way to send a stream event.

`publish_on_commit` is what model signal handlers call: the event leaves
only after the transaction commits. Events go through one publisher per
process: a daemon thread with its own event loop that numbers each event
(seq/epoch), encodes it once per scope and hands it to the channel layer,
strictly in the order they were published. That works from any caller (a
sync view, manage.py, a thread, code running inside an event loop) without
`async_to_sync`, whose per-call loops leak layer connections
(channels_redis#125).

Longer than most modules here because the publisher's ordering, batching,
conflation and retry share one queue and one loop: split, each would need
the others' state.
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

from streams.infra import layer, metrics, sequence
from streams.infra.layer import CONTROL, FRAME, FRAMES
from streams.publishing import relay
from streams.wire import groups, registry
from streams.wire.errors import is_transient
from streams.wire.protocol import encode, message

logger = logging.getLogger(__name__)

# Events taken off the queue at once, and the most bytes of frames numbered
# in one round trip and sent as one layer message per scope.
BATCH = 200
BATCH_BYTES = 64 * 1024


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
        self._worker = loop.create_task(self._work())
        ready.set()
        loop.run_forever()

    async def _work(self):
        while True:
            items = [await self._queue.get()]
            while len(items) < BATCH and not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                await self._handle(items)
            except Exception:
                # Whatever went wrong, this task must live: every later
                # event of the process goes through it.
                logger.exception("publisher: could not send %d item(s)", len(items))
            finally:
                for _ in items:
                    self._queue.task_done()

    async def _handle(self, items):
        """Sends `items` in order; the events between two controls go out
        as one batch (`_deliver`)."""
        run = []
        for item in items:
            try:
                if isinstance(item, Event):
                    if self._accept(item):
                        run.append(item)
                    continue
                await self._deliver(run)
                run = []
                await layer.group_send(
                    item.group, {"type": CONTROL, "group": item.group, **item.payload}
                )
            except Exception:
                logger.exception("publisher: could not send %r", item)
        await self._deliver(run)

    def _accept(self, event):
        """Whether `event` is to be sent now: not when it is relayed to the
        server process, nor while it waits out its conflation window."""
        url = relay.destination()
        if url is not None:
            # Blocking this thread's loop keeps the order, and unlike an
            # executor it still works while the interpreter exits (the
            # atexit flush of a manage.py command).
            relay.forward(url, event)
            return False
        window = registry.get(event.stream).conflate_seconds()
        if not window or event.conflate_key is None:
            return True
        key = (event.stream, event.conflate_key)
        first = key not in self._conflated
        self._conflated[key] = event
        if first:
            self._loop.call_later(window, self._release, key)
        return False

    def _release(self, key):
        event = self._conflated.pop(key, None)
        if event is not None:
            self._queue.put_nowait(replace(event, conflate_key=None))

    async def _deliver(self, events):
        """Numbers `events` in few round trips to the store and sends each
        scope's share as one layer message: at a coordinator's tick of
        hundreds of events, two round trips per event and scope were the
        publisher's limit, and its subscribers saw the tick seconds late.
        A batch holds BATCH_BYTES of frames at most, so a burst of big
        events still reaches the sockets paced by the layer."""
        if not events:
            return
        batch, size = [], 0
        for event in events:
            try:
                head, scoped = self._route(event)
            except Exception:
                # Not numbered: its subscribers see no gap for it.
                logger.exception("publisher: could not send %r; it is dropped", event)
                continue
            for group in scoped:
                if batch and size + len(head) > BATCH_BYTES:
                    await self._send_batch(batch)
                    batch, size = [], 0
                batch.append((group, head))
                size += len(head)
        await self._send_batch(batch)
        now = time.perf_counter()
        for event in events:
            metrics.PUBLISH_SECONDS.observe(now - event.published_at)

    @staticmethod
    def _route(event):
        """(the event's frame without seq and epoch, less its closing brace;
        the groups of the scopes it goes to)."""
        stream = registry.get(event.stream)
        # seq and epoch are appended per scope by the counter (sequence.seal).
        head = encode(
            message(event.type, stream.name, event.data, session_id=stream.session_of(event.keys))
        )[:-1]
        return head, [
            groups.stream_group(stream.name, scope) for scope in stream.routes(event.keys)
        ]

    async def _send_batch(self, routed):
        """`routed`: [(group, head)] in publishing order."""
        requests, renewed = [], set()
        for group, head in routed:
            fresh = group in self._broken and group not in renewed
            if fresh:
                renewed.add(group)  # one new epoch per scope, at its first event
            requests.append((group, head, fresh))
        try:
            numbered = await self._persist(lambda: sequence.store().next_many(requests))
        except Exception:
            self._lost({group for group, _ in routed})
            return
        self._broken.difference_update(group for group, _ in routed)
        frames = {}
        for (group, _), (epoch, seq, frame) in zip(routed, numbered, strict=False):
            frames.setdefault(group, []).append(
                {"type": FRAME, "group": group, "frame": frame, "seq": seq, "epoch": epoch}
            )
        for group, share in frames.items():
            payload = {"type": FRAMES, "group": group, "frames": share}
            try:
                await self._persist(partial(layer.group_send, group, payload))
            except Exception:
                self._lost({group})

    def _lost(self, groups_):
        """Events of `groups_` could not be numbered or sent: their
        subscribers must not take the next event for the one after these,
        so it starts a new epoch, and they resync."""
        self._broken.update(groups_)
        logger.exception(
            "publisher: events of %s were lost; each scope's next event starts a new epoch",
            ", ".join(sorted(groups_)),
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
                logger.warning(
                    "publisher: %s: %s; retrying in %.1f s", type(exc).__name__, exc, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)


_publisher = Publisher()


def publisher():
    return _publisher


def flush(timeout=10):
    """Waits until everything this process published so far has been handed
    on (a command that is about to exit); False when `timeout` passed first."""
    return _publisher.flush(timeout)
