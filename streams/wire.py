"""Writing frames to daphne sockets without daphne's per-send work: each
event's frame is built once for all of a process's sockets.

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


def frame(text):
    """`text` as one unmasked WebSocket text frame."""
    return PreparedMessage(text.encode(), False, False, True).payloadHybi


def frame_of(message):
    """The event's frame, built by the first socket that needs it and kept
    in the message the hub shares."""
    data = message.get("ws_frame")
    if data is None:
        data = message["ws_frame"] = frame(message["frame"])
    return data


def direct(protocol):
    """`protocol` if events can be written straight to it: daphne's
    (autobahn's) protocol on plain TCP. None for TLS and for the test
    communicator, which take the ordinary path. Decided once per socket."""
    transport = getattr(protocol, "transport", None)
    if isinstance(transport, Connection) and hasattr(protocol, "send_queue"):
        return protocol
    return None


def send(protocol, data):
    """Writes a frame to a `direct` protocol, at once when nothing is queued
    before it (on any trouble Twisted takes the data and reports the error).
    Returns the bytes still queued for this client, or None when the socket
    is not open for it (the caller takes the ordinary path)."""
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
