"""One client WebSocket connection, light enough for 1,000 of them in one
process at 20,000+ messages/s.

websockets' asyncio connection resolves a future and runs a task switch per
message; measured here it was the load client, not the server, that set
the latency at 1,000 subscribers. This drives websockets' Sans-I/O protocol
(handshake, framing, masking, ping/pong, close) from a plain
`asyncio.Protocol` and hands each text message to a callback as it is
parsed, stamped with the time its bytes arrived.
"""

import asyncio
import time

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

ABNORMAL = 1006


class Link(asyncio.Protocol):
    def __init__(self, uri, headers, on_text):
        loop = asyncio.get_running_loop()
        self.ws = ClientProtocol(parse_uri(uri), max_size=None)
        self.headers = headers
        self.on_text = on_text
        self.transport = None
        self.opened = loop.create_future()
        self.closed = loop.create_future()
        self._fragments = []

    @classmethod
    async def open(cls, uri, headers, on_text, timeout):
        """Connects and completes the handshake; raises OSError or
        TimeoutError, or the handshake's error."""
        parsed = parse_uri(uri)
        loop = asyncio.get_running_loop()
        _, link = await asyncio.wait_for(
            loop.create_connection(lambda: cls(uri, headers, on_text), parsed.host, parsed.port),
            timeout,
        )
        try:
            opened = await asyncio.wait_for(asyncio.shield(link.opened), timeout)
        except BaseException:
            link.abort()
            raise
        if not opened:
            raise ConnectionError("closed during the handshake")
        return link

    # asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        request = self.ws.connect()
        request.headers.update(self.headers)
        self.ws.send_request(request)
        self._flush()

    def data_received(self, data):
        now = time.time()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                self._handshake_done()
            elif event.opcode in (Opcode.TEXT, Opcode.CONT):
                self._fragments.append(event.data)
                if event.fin:
                    text = b"".join(self._fragments)
                    self._fragments = []
                    self.on_text(self, text, now)
        self._flush()

    def eof_received(self):
        self.ws.receive_eof()
        self._flush()

    def connection_lost(self, exc):
        self.ws.receive_eof()
        if not self.opened.done():
            self.opened.set_result(False)
        if not self.closed.done():
            self.closed.set_result(self.ws.close_rcvd.code if self.ws.close_rcvd else ABNORMAL)

    # Ours -------------------------------------------------------------------

    def send_text(self, text):
        if self.ws.state is State.OPEN:
            self.ws.send_text(text.encode())
            self._flush()

    def abort(self):
        """Drops the TCP connection without a close frame (a network blip)."""
        if self.transport is not None:
            self.transport.abort()

    def _handshake_done(self):
        if self.opened.done():
            return
        if self.ws.handshake_exc is None:
            self.opened.set_result(True)
        else:
            self.opened.set_exception(self.ws.handshake_exc)

    def _flush(self):
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()
        if self.ws.close_expected():
            asyncio.get_running_loop().call_later(2, self.abort)
