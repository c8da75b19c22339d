"""The one WebSocket endpoint (`/ws`): PROTOCOL.md's connection, frames,
errors and subscriptions.

Events do not reach this consumer through its own channel-layer channel:
the process hub calls `deliver()` with a frame encoded once for everybody.
Client frames go through `dispatch` as usual. Every frame is handled inside
one try block, so nothing a client sends can close a well-behaved socket or
touch another client.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, field

from autobahn.exception import Disconnected
from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings

from streams import errors, registry, sequence, wire
from streams.db import in_pool
from streams import protocol as proto
from streams.hub import CONTROL, Hub, get_hub
from streams.ratelimit import TokenBucket

logger = logging.getLogger(__name__)


def session_group(session_key):
    """The control group of one Django login session (for logout)."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return f"auth.session.{digest}"


@dataclass
class Subscription:
    stream: str
    params: dict
    normalized: dict
    group: str
    request_id: object = None
    pending: bool = True
    buffer: list = field(default_factory=list)


class StreamConsumer(AsyncConsumer):
    # No per-socket layer channel: the hub delivers (see module docstring).
    channel_layer_alias = None

    hub = None
    last_seen = 0.0
    closed = False
    # daphne's protocol when events are written straight to it (streams.wire);
    # False until the first event decides.
    _direct = False

    async def dispatch(self, message):
        # channels' dispatch hops to a thread before every handler to close
        # stale DB connections; streams.db.in_pool already does that for
        # the handlers that touch the database.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(message)

    # Connection -------------------------------------------------------

    async def websocket_connect(self, message):
        self.server_send = self.scope.get("server_send", self.base_send)
        await self.base_send({"type": "websocket.accept"})
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.send_json(
                proto.error(
                    errors.Unauthenticated.code,
                    "authenticate with the session cookie or an "
                    "'Authorization: Token <key>' header",
                )
            )
            await self.close(proto.CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.subscriptions = {}
        self.by_group = {}
        self.bucket = TokenBucket(settings.STREAMS_RATE_PER_SECOND, settings.STREAMS_RATE_BURST)
        self.refused = 0
        self.hub = await get_hub()
        self.last_seen = Hub.timer()
        self.hub.attach(self)
        session = self.scope.get("session")
        if self.scope.get("auth_method") != "token" and session is not None and session.session_key:
            self.auth_group = session_group(session.session_key)
            await self.hub.join(self.auth_group, self)
        else:
            self.auth_group = None
        await self.send_json(
            proto.message(
                "welcome",
                proto.SYSTEM,
                {
                    "protocol": proto.PROTOCOL_VERSION,
                    "heartbeat_interval": settings.STREAMS_HEARTBEAT_INTERVAL,
                    "streams": registry.names(),
                },
            )
        )

    async def websocket_disconnect(self, message):
        self.closed = True
        if self.hub is not None:
            self.hub.detach(self)
            for sub in list(self.subscriptions.values()):
                await self.hub.leave(sub.group, self)
            if self.auth_group:
                await self.hub.leave(self.auth_group, self)
        raise StopConsumer()

    async def close(self, code):
        if not self.closed:
            self.closed = True
            await self.base_send({"type": "websocket.close", "code": code})

    async def _close_slow(self):
        """Close with 1013 so the client reconnects and resyncs. autobahn's
        `sendClose` only lets an application use 1000 and 3000-4999, though
        RFC 6455 lets a server send 1013; `sendCloseFrame` is the same call
        without that check."""
        protocol = self._server_protocol()
        if protocol is None or not hasattr(protocol, "sendCloseFrame"):
            await self.close(proto.CLOSE_TRY_AGAIN_LATER)
            return
        self.closed = True
        protocol.sendCloseFrame(code=proto.CLOSE_TRY_AGAIN_LATER, isReply=False)

    async def close_quiet_client(self):
        """Called by the hub when the client sent nothing for 3 heartbeats."""
        await self.close(proto.CLOSE_HEARTBEAT_TIMEOUT)

    # Sending ------------------------------------------------------------

    async def send_json(self, body):
        await self.send_text(proto.encode(body))

    async def send_text(self, text):
        """Under daphne, written straight to the socket (streams.wire); that
        also lets a snapshot over daphne's 1 MiB message cap out, a cap that
        is there for what clients send (autobahn applies it both ways)."""
        if self.closed:
            return
        direct = self._wire()
        if direct is None or wire.send(direct, wire.frame(text)) is None:
            await self._send_through_server(text)

    async def _send_through_server(self, text):
        """daphne's own path, for sockets `streams.wire` does not write to."""
        try:
            await self.server_send({"type": "websocket.send", "text": text})
        except Disconnected:
            # The client left with events on the way; daphne tells this
            # consumer a moment later. Nothing worth the error log.
            self.closed = True

    def _wire(self):
        """daphne's protocol when frames go straight to it, else None;
        decided on first use."""
        if self._direct is False:
            self._direct = wire.direct(self._server_protocol())
            self._max_backlog = settings.STREAMS_MAX_BACKLOG_BYTES
        return self._direct

    async def deliver(self, group, message):
        """Called by the hub for each event of a group this socket is in."""
        if message["type"] == CONTROL:
            await self._control(message)
            return
        sub = self.by_group.get(group)
        if sub is None:
            return
        if sub.pending:
            sub.buffer.append(message)
            return
        if self.closed:
            return
        direct = self._wire()
        backlog = None if direct is None else wire.send(direct, wire.frame_of(message))
        if backlog is None:
            await self._send_through_server(message["frame"])
            backlog = self._backlog()
        if backlog > self._max_backlog:
            self.hub.stats["slow_clients_closed"] += 1
            logger.warning("streams: closing a client %d bytes behind (1013)", backlog)
            await self._close_slow()

    def _server_protocol(self):
        """daphne's protocol object for this socket, or None elsewhere (the
        test communicator). daphne's `send` is `partial(server.handle_reply,
        protocol)`."""
        return getattr(self.server_send, "args", (None,))[0]

    def _backlog(self):
        """Bytes written for this socket that its client has not read yet:
        daphne never pushes back, so a client that stops reading makes
        Twisted buffer without bound."""
        transport = getattr(self._server_protocol(), "transport", None)
        if transport is None:
            return 0
        return (
            len(getattr(transport, "dataBuffer", b""))
            - getattr(transport, "offset", 0)
            + getattr(transport, "_tempDataLen", 0)
        )

    async def _control(self, message):
        if message.get("action") == "close":
            await self.send_json(
                proto.error(message.get("code_name", "unauthenticated"), message.get("reason", ""))
            )
            await self.close(message.get("code", proto.CLOSE_UNAUTHENTICATED))

    # Client frames --------------------------------------------------------

    async def websocket_receive(self, message):
        if self.hub is None or self.closed:
            return
        self.last_seen = Hub.timer()
        if not self.bucket.take():
            await self._refuse()
            return
        self.refused = 0
        request_id = None
        stream = None
        try:
            frame = self._parse(message)
            request_id = frame.get("request_id")
            stream = frame.get("stream") if isinstance(frame.get("stream"), str) else None
            if request_id is not None and (
                isinstance(request_id, bool) or not isinstance(request_id, (str, int))
            ):
                request_id = None
                raise errors.InvalidParams("request_id must be a string or an integer")
            action = frame.get("action")
            if action == "ping":
                await self.send_json(proto.message("pong", proto.SYSTEM, request_id=request_id))
            elif action == "subscribe":
                await self.subscribe(frame, request_id)
            elif action == "unsubscribe":
                await self.unsubscribe(frame, request_id)
            else:
                raise errors.UnknownAction(
                    f"unknown action {action!r}; valid actions: {', '.join(proto.ACTIONS)}"
                )
        except errors.ProtocolError as exc:
            await self.send_json(
                proto.error(exc.code, exc.message, stream=exc.stream or stream, request_id=request_id)
            )
        except Exception:
            logger.exception("streams: unexpected error handling a client frame")
            await self.send_json(
                proto.error("internal_error", "the server failed to handle this frame",
                            stream=stream, request_id=request_id)
            )

    def _parse(self, message):
        text = message.get("text")
        if text is None:
            raise errors.BadJson("frames must be JSON text, not binary")
        limit = settings.STREAMS_MAX_FRAME_BYTES
        if len(text) > limit or len(text.encode("utf-8")) > limit:
            raise errors.TooLarge(f"frame is over the {limit // 1024} KiB limit")
        try:
            frame = json.loads(text)
        except ValueError as exc:
            raise errors.BadJson(f"frame is not valid JSON: {exc}") from None
        if not isinstance(frame, dict):
            raise errors.BadJson("a frame must be a JSON object")
        return frame

    async def _refuse(self):
        """Called for a frame over the rate limit: warn once per episode,
        close with 4429 if the client keeps going."""
        self.refused += 1
        if self.refused == 1:
            await self.send_json(
                proto.error(
                    errors.RateLimited.code,
                    f"more than {settings.STREAMS_RATE_PER_SECOND} frames/s; "
                    "frames are being dropped",
                )
            )
        elif self.refused > settings.STREAMS_RATE_BURST:
            await self.close(proto.CLOSE_RATE_LIMITED)

    # Subscriptions ----------------------------------------------------------

    def _lookup(self, frame):
        stream = registry.get(frame.get("stream"))
        raw = frame.get("params")
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise errors.InvalidParams("params must be an object", stream=stream.name)
        try:
            normalized = stream.parse_params(raw)
        except errors.ProtocolError as exc:
            exc.stream = stream.name
            raise
        key = (stream.name, json.dumps(normalized, sort_keys=True))
        return stream, raw, normalized, key

    async def subscribe(self, frame, request_id):
        stream, raw, normalized, key = self._lookup(frame)
        try:
            await in_pool(stream.authorize)(self.user, normalized)
        except errors.ProtocolError as exc:
            exc.stream = stream.name
            raise
        group = registry.group_name(stream.name, stream.scope(normalized))
        sub = self.subscriptions.get(key)
        if sub is None:
            # Joined first: if joining fails, nothing is recorded and a
            # retried subscribe joins again.
            await self.hub.join(group, self)
            sub = Subscription(stream.name, raw, normalized, group)
            self.subscriptions[key] = sub
            self.by_group[group] = sub
        else:
            sub.params, sub.pending, sub.buffer = raw, True, []
        session_id = normalized.get("session_id") if stream.session_scoped else None
        await self.send_json(
            proto.message("subscribed", stream.name, {}, params=raw,
                          request_id=request_id, session_id=session_id)
        )
        if stream.snapshot is None:
            sub.pending = False
            return
        try:
            await self._send_snapshot(stream, sub, session_id, request_id)
        finally:
            sub.pending, sub.buffer = False, []

    async def _send_snapshot(self, stream, sub, session_id, request_id):
        """Called right after joining the group: the seq is read before the
        snapshot and events that arrive meanwhile are held back, so the
        client never sees an event older than its snapshot after it."""
        epoch, seq = await sequence.store().current(sub.group)
        data = await in_pool(stream.snapshot)(self.user, sub.normalized)
        await self.send_json(
            proto.message("full_update", stream.name, data, request_id=request_id,
                          session_id=session_id, seq=seq, epoch=epoch)
        )
        for held in sub.buffer:
            if held["epoch"] != epoch or held["seq"] > seq:
                await self.send_text(held["frame"])

    async def unsubscribe(self, frame, request_id):
        stream, raw, normalized, key = self._lookup(frame)
        sub = self.subscriptions.pop(key, None)
        if sub is not None:
            self.by_group.pop(sub.group, None)
            await self.hub.leave(sub.group, self)
        session_id = normalized.get("session_id") if stream.session_scoped else None
        await self.send_json(
            proto.message("unsubscribed", stream.name, {}, params=raw,
                          request_id=request_id, session_id=session_id)
        )
