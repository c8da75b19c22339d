"""The one WebSocket endpoint (`/ws`): PROTOCOL.md's connection, frames,
errors and subscriptions, conducted here and done by the modules named
after each part (transport, frames, subscriber, snapshots, access).

Events do not reach this consumer through its own channel-layer channel:
the process hub calls `deliver()` with a frame encoded once for everybody.
Client frames go through `dispatch` as usual. Every frame is handled inside
one try block, so nothing a client sends can close a well-behaved socket or
touch another client.
"""

import logging

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings

from streams.connection import access, sweeps
from streams.connection.ratelimit import TokenBucket
from streams.connection.subscriber import Subscriber
from streams.connection.subscriptions import Subscriptions
from streams.connection.transport import Transport
from streams.fanout.hub import get_hub
from streams.infra.layer import CLOSE, CONTROL, RECHECK
from streams.wire import errors, frames, groups, registry
from streams.wire import protocol as proto

logger = logging.getLogger(__name__)


class StreamConsumer(AsyncConsumer):
    # No per-socket layer channel: the hub delivers (see module docstring).
    channel_layer_alias = None

    hub = None
    transport = None
    credentials = None
    last_seen = 0.0

    @property
    def closed(self):
        return self.transport is None or self.transport.closed

    async def dispatch(self, message):
        # channels' dispatch hops to a thread before every handler to close
        # stale DB connections; streams.infra.db.in_pool already does that for
        # the handlers that touch the database.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(message)

    # Connection -------------------------------------------------------

    async def websocket_connect(self, message):
        await self.base_send({"type": "websocket.accept"})
        self.hub = await get_hub()
        sweeps.install(self.hub)
        self.transport = Transport(
            self.base_send,
            self.scope.get("server_send", self.base_send),
            settings.STREAMS_MAX_BACKLOG_BYTES,
            self.hub.stats,
        )
        self.credentials = access.credentials_of(self.scope)
        if self.credentials is None:
            await self.refuse_credentials(
                "authenticate with the session cookie or an 'Authorization: Token <key>' header"
            )
            return
        self.user = self.scope["user"]
        self.subscriptions = Subscriptions(settings.STREAMS_MAX_SUBSCRIPTIONS)
        self.subscriber = Subscriber(self, self.subscriptions)
        self.bucket = TokenBucket(settings.STREAMS_RATE_PER_SECOND, settings.STREAMS_RATE_BURST)
        self.refused = 0
        self.last_seen = sweeps.Clock.timer()
        self.hub.attach(self)
        self.control_groups = [groups.user_group(self.credentials.user_id)]
        if self.credentials.method == access.SESSION:
            self.control_groups.append(groups.login_group(self.credentials.key))
        for group in self.control_groups:
            await self.hub.join(group, self)
        await self.send_json(
            proto.message(
                "welcome",
                proto.SYSTEM,
                {
                    "protocol": proto.PROTOCOL_VERSION,
                    "heartbeat_interval": settings.STREAMS_HEARTBEAT_INTERVAL,
                    "streams": registry.names(),
                    "limits": {
                        "max_subscriptions": settings.STREAMS_MAX_SUBSCRIPTIONS,
                        "max_frame_bytes": settings.STREAMS_MAX_FRAME_BYTES,
                        "frames_per_second": settings.STREAMS_RATE_PER_SECOND,
                    },
                },
            )
        )

    async def websocket_disconnect(self, message):
        if self.transport is not None:
            self.transport.closed = True
        if self.credentials is not None:
            self.hub.detach(self)
            for group in self.subscriptions.remove_all() + self.control_groups:
                await self.hub.leave(group, self)
        raise StopConsumer()

    async def refuse_credentials(self, reason):
        await self.send_json(proto.error(errors.Unauthenticated.code, reason))
        await self.transport.close(proto.CLOSE_UNAUTHENTICATED)

    async def close_for_resync(self):
        """Called by the hub when events may have been lost on their way to
        this process: the client reconnects and resyncs."""
        await self.transport.close(proto.CLOSE_SERVICE_RESTART)

    async def close_quiet_client(self):
        """Called by the hub when the client sent nothing for 3 heartbeats."""
        await self.transport.close(proto.CLOSE_HEARTBEAT_TIMEOUT)

    async def apply_verdict(self, user, forbidden):
        """Called with the outcome of an authority check (streams.connection.access)."""
        if self.closed:
            return
        if user is None:
            await self.refuse_credentials("these credentials are no longer valid; sign in again")
            return
        self.user = user
        for key in forbidden:
            await self.subscriber.end(key, reason="forbidden")

    # Sending ------------------------------------------------------------

    async def send_json(self, body):
        await self.transport.send(proto.encode(body))

    def deliver(self, group, message):
        """Called by the hub for each message of a group this socket is in.
        Not a coroutine: an event written straight to the socket needs no
        await, and at 1,000 subscribers the coroutines of the calls were a
        third of the fan-out's CPU (BENCHMARKS.md). Returns None or what
        the hub must await."""
        if message["type"] == CONTROL:
            return self._control(message)
        return self.subscriber.deliver(group, message)

    async def _control(self, message):
        action = message.get("action")
        if action == CLOSE:
            await self.refuse_credentials(message.get("reason", ""))
        elif action == RECHECK:
            await access.recheck([self])

    # Client frames --------------------------------------------------------

    async def websocket_receive(self, message):
        if self.credentials is None or self.closed:
            return
        self.last_seen = sweeps.Clock.timer()
        if not self.bucket.take():
            await self._refuse_frame()
            return
        self.refused = 0
        frame = None
        try:
            frame = frames.parse(message, settings.STREAMS_MAX_FRAME_BYTES)
            if frame.action == "ping":
                await self.send_json(
                    proto.message("pong", proto.SYSTEM, request_id=frame.request_id)
                )
            elif frame.action == "subscribe":
                await self.subscriber.subscribe(frame, self.user)
            else:
                await self.subscriber.unsubscribe(frame)
        except Exception as exc:
            await self._answer_failure(exc, frame)

    async def _answer_failure(self, exc, frame):
        """The error reply a failed frame is owed: its protocol error, or
        `unavailable` when a store was away (retry), or `internal_error`
        for a bug (logged with its traceback)."""
        stream = frame.stream if frame is not None and isinstance(frame.stream, str) else None
        request_id = frame.request_id if frame is not None else None
        if isinstance(exc, errors.ProtocolError):
            code, text = exc.code, exc.message
            stream, request_id = exc.stream or stream, exc.request_id or request_id
        elif errors.is_transient(exc):
            logger.warning("streams: a store is unavailable (%s: %s)", type(exc).__name__, exc)
            code, text = errors.Unavailable.code, "the server could not reach a store; retry"
        else:
            logger.exception("streams: unexpected error handling a client frame")
            code, text = "internal_error", "the server failed to handle this frame"
        await self.send_json(proto.error(code, text, stream=stream, request_id=request_id))

    async def _refuse_frame(self):
        """Called for a frame over the rate limit: warn once per episode,
        close with 4429 if the client keeps going."""
        self.refused += 1
        if self.refused == 1:
            await self.send_json(
                proto.error(
                    errors.RateLimited.code,
                    f"more than {settings.STREAMS_RATE_PER_SECOND} frames/s; frames are being dropped",
                )
            )
        elif self.refused > settings.STREAMS_RATE_BURST:
            await self.transport.close(proto.CLOSE_RATE_LIMITED)
