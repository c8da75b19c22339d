"""The limits daphne's command line cannot give its HTTP connections, for
the server that `manage.py serve` builds.

daphne (Twisted's HTTPChannel) resets a connection's 60 s idle timeout on
every byte, so a client that sends a request a byte at a time holds its
connection for as long as it likes (slowloris: 50 of 50 half-sent requests
were still open after 40 s); and it reads a whole request body, to a
temporary file, before the application is called, whatever its size (a
200 MB POST: RSS 110 -> 316 MiB, config/body_limit.py). Neither has a
daphne option. `manage.py serve` installs this channel on daphne's HTTP
factory before the reactor runs (`install`):

- a request must arrive whole, line, headers and body, within
  HTTP_REQUEST_SECONDS of its first byte; past that it is answered 408 and
  the connection closed. Idle connections keep Twisted's 60 s timeout;
  a request being answered, and a WebSocket once upgraded, have none.
- a declared `Content-Length` over HTTP_MAX_BODY_BYTES is answered 413
  before a byte of the body is read; a chunked body is cut with 413 once
  its bytes on the wire (framing included) pass it.

The daphne processes of a deployment (deploy/systemd) run daphne's own
command line and rely on nginx for both (README, "Security model").
"""

import json

from django.conf import settings
from twisted.web import http

_REASONS = {408: b"Request Timeout", 413: b"Payload Too Large"}


def _response(status, detail):
    body = json.dumps({"detail": detail}).encode()
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (status, _REASONS[status], len(body))
    )
    return head + body


class LimitedChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel with a deadline per request and a body
    limit. Built by daphne's factory for each connection."""

    def __init__(self):
        super().__init__()
        self.request_seconds = settings.HTTP_REQUEST_SECONDS
        self.max_body_bytes = settings.HTTP_MAX_BODY_BYTES
        self._deadline = None
        self._wire_body_bytes = 0
        self._refused = False

    def dataReceived(self, data):
        if self._refused:
            return
        if self._deadline is None and not self._handlingRequest:
            self._deadline = self.callLater(self.request_seconds, self._too_slow)
        super().dataReceived(data)

    def allHeadersReceived(self):
        if self.length is not None and self.length > self.max_body_bytes:
            self._refuse(413, f"The request body is over {self.max_body_bytes} bytes.")
            return
        super().allHeadersReceived()

    def rawDataReceived(self, data):
        if self._refused:
            return
        if self.length is None and not self._handlingRequest:  # a chunked body
            self._wire_body_bytes += len(data)
            if self._wire_body_bytes > self.max_body_bytes:
                self._refuse(413, f"The request body is over {self.max_body_bytes} bytes.")
                return
        super().rawDataReceived(data)

    def allContentReceived(self):
        self._disarm()
        self._wire_body_bytes = 0
        super().allContentReceived()

    def connectionLost(self, reason):
        self._disarm()
        super().connectionLost(reason)

    def _too_slow(self):
        self._deadline = None
        self._refuse(408, f"The request took over {self.request_seconds} s to arrive.")

    def _disarm(self):
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, status, detail):
        """Answers `status` and closes, reading nothing more; a client that
        does not read the answer is cut off after Twisted's abortTimeout."""
        self._refused = True
        self._disarm()
        self.transport.write(_response(status, detail))
        self.timeoutConnection()


def install(factory):
    """Called on daphne's HTTP factory once it is built and before it
    accepts a connection (daphne's `ready_callable`). Plain HTTP/1.1: the
    server has no TLS, so HTTP/2 could never be negotiated anyway."""
    factory.protocol = LimitedChannel
