"""Writing one event frame to many daphne sockets without daphne's per-send
work.

The hub hands the same event to every local subscriber. Through daphne's
`send` each of them would encode the text to UTF-8 again, frame it in
autobahn, and queue it in Twisted, which writes only on a later reactor turn
after registering the socket with epoll (and unregisters it afterwards). At
1,000 subscribers that was most of the server's CPU per delivery (profile in
BENCHMARKS.md). Here the frame is built once per event and written to each
socket at once, as asyncio's own transports do; Twisted keeps whatever the
socket would not take, so its buffer still measures the client's backlog.
"""

from autobahn.websocket.protocol import PreparedMessage
from twisted.internet.tcp import Connection


def frame_of(message):
    """The event as one unmasked WebSocket text frame, built by the first
    socket that needs it and kept in the message the hub shares."""
    frame = message.get("ws_frame")
    if frame is None:
        prepared = PreparedMessage(message["frame"].encode(), False, False, True)
        frame = message["ws_frame"] = prepared.payloadHybi
    return frame


def writable(protocol):
    """True for an open daphne socket on plain TCP with nothing queued in
    autobahn (TLS and the test communicator take the ordinary path)."""
    return (
        getattr(protocol, "state", None) == getattr(protocol, "STATE_OPEN", object())
        and not protocol.send_queue
        and isinstance(protocol.transport, Connection)
    )


def write(transport, data):
    """`transport.write(data)`, sending at once when nothing is queued before
    it; on any trouble the data goes to Twisted, which reports the error."""
    if (
        transport._tempDataLen
        or len(transport.dataBuffer) != transport.offset
        or not transport.connected
        or transport.disconnecting
    ):
        transport.write(data)
        return
    sent = transport.writeSomeData(data)
    if isinstance(sent, Exception) or sent < 0:
        transport.write(data)
    elif sent < len(data):
        transport.write(data[sent:])
