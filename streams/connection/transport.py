"""One client's socket: how frames reach it, and what it may owe.

Frames are written straight to daphne's sockets where it can be done. The
hub hands the same event to every local subscriber; through daphne's `send`
each of them would encode the text to UTF-8 again, frame it in autobahn and
queue it in Twisted, which writes only on a later reactor turn after
registering the socket with epoll. At 1,000 subscribers that was most of
the server's CPU per delivery (profile in BENCHMARKS.md). Here an event's
frame is built once and written to each socket at once, as asyncio's own
transports do; Twisted keeps whatever the socket would not take.

daphne never pushes back, so a client that stops reading makes Twisted
buffer without bound. Every frame written for a client (events, replies,
snapshots alike) goes through `Transport.send`, which measures the backlog
after writing and closes the client with 1013 past
STREAMS_MAX_BACKLOG_BYTES: the client reconnects and resyncs, and the
server's memory stays bounded by (clients x bound).
"""

import logging

from autobahn.exception import Disconnected
from autobahn.websocket.protocol import PreparedMessage
from twisted.internet.tcp import Connection

from streams.infra import metrics
from streams.wire.protocol import CLOSE_TRY_AGAIN_LATER

logger = logging.getLogger(__name__)


def frame(text):
    """`text` as one unmasked WebSocket text frame."""
    return PreparedMessage(text.encode(), False, False, True).payloadHybi


def frame_of(message):
    """An event's frame, built by the first socket that needs it and kept in
    the message the hub shares."""
    data = message.get("ws_frame")
    if data is None:
        data = message["ws_frame"] = frame(message["frame"])
    return data


class Transport:
    """Sends to one client and enforces the backlog bound.

    `server_send` is the server's own `send` (ServerSendMiddleware): under
    daphne it is `partial(server.handle_reply, protocol)`, which is how the
    socket's protocol object is found.
    """

    def __init__(self, base_send, server_send, max_backlog, stats):
        self.base_send = base_send
        self.server_send = server_send
        self.max_backlog = max_backlog
        self.stats = stats
        self.protocol = getattr(server_send, "args", (None,))[0]
        self.direct = self._direct(self.protocol)
        self.closed = False

    @staticmethod
    def _direct(protocol):
        """`protocol` if frames can be written straight to it: daphne's
        (autobahn's) protocol on plain TCP. None for TLS and for the test
        communicator, which take the ordinary path."""
        transport = getattr(protocol, "transport", None)
        if isinstance(transport, Connection) and hasattr(protocol, "send_queue"):
            return protocol
        return None

    def send_event(self, message):
        """Writes an event the hub shares among its subscribers (the hub
        counts its bytes once per fan-out). Fan-out's hot path: None when
        the frame went straight to the socket and the client is within the
        bound, so nothing is awaited; otherwise what finishes the job."""
        return self._start(message["frame"], frame_of(message))

    async def send(self, text):
        """Writes `text`; closes the client with 1013 when what it has not
        read yet passes the bound."""
        metrics.BYTES_SENT.inc(len(text))
        pending = self._start(text, None)
        if pending is not None:
            await pending

    def _start(self, text, ws_frame):
        if self.closed:
            return None
        if self.direct is not None:
            backlog = self._write(ws_frame if ws_frame is not None else frame(text))
            if backlog is not None:
                return None if backlog <= self.max_backlog else self._close_slow(backlog)
        return self._send_through_server(text)

    def _write(self, data):
        """Writes a frame to the `direct` protocol, at once when nothing is
        queued before it (on any trouble Twisted takes the data and reports
        the error). Returns the bytes still queued for this client, or None
        when the socket is not open for it (the caller takes the ordinary
        path)."""
        protocol = self.direct
        if protocol.state != protocol.STATE_OPEN or protocol.send_queue:
            return None
        transport = protocol.transport
        queued = len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        if queued or not transport.connected or transport.disconnecting:
            transport.write(data)
            return queued + len(data)
        sent = transport.writeSomeData(data)
        if isinstance(sent, Exception) or sent < 0:
            transport.write(data)
            return len(data)
        if sent < len(data):
            transport.write(data[sent:])
        return len(data) - sent

    async def _send_through_server(self, text):
        try:
            await self.server_send({"type": "websocket.send", "text": text})
        except Disconnected:
            # The client left with frames on the way; daphne tells the
            # consumer a moment later. Nothing worth the error log.
            self.closed = True
            return
        backlog = self.backlog()
        if backlog > self.max_backlog:
            await self._close_slow(backlog)

    async def _close_slow(self, backlog):
        metrics.count(self.stats, "slow_clients_closed")
        logger.warning("streams: closing a client %d bytes behind (1013)", backlog)
        await self.close(CLOSE_TRY_AGAIN_LATER)

    def backlog(self):
        """Bytes written for this client that it has not read yet (Twisted's
        buffer; the test communicator has none)."""
        transport = getattr(self.protocol, "transport", None)
        if transport is None:
            return 0
        return (
            len(getattr(transport, "dataBuffer", b""))
            - getattr(transport, "offset", 0)
            + getattr(transport, "_tempDataLen", 0)
        )

    async def close(self, code):
        """Closes with `code`. autobahn's `sendClose` lets an application
        use only 1000 and 3000-4999, though RFC 6455 lets a server send
        1012 and 1013, which tell the client to come back; `sendCloseFrame`
        is the same call without that check."""
        if self.closed:
            return
        self.closed = True
        if code == 1000 or 3000 <= code <= 4999 or not hasattr(self.protocol, "sendCloseFrame"):
            await self.base_send({"type": "websocket.close", "code": code})
        else:
            self.protocol.sendCloseFrame(code=code, isReply=False)


class ServerSendMiddleware:
    """Keeps the server's own `send` in the scope.

    Channels' session middleware wraps `send` to save sessions, a check paid
    on every frame; events need none of that, so the transport sends through
    the server's callable directly (and finds the socket through it).
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        return await self.application(dict(scope, server_send=send), receive, send)
