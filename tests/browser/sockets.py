"""The WebSockets a page opens, as the browser reports them (Playwright's
`websocket` event), failed connection attempts included."""


class SocketLog:
    """Every WebSocket `page` creates, in order. `overlaps` counts sockets
    created while another was still open: the dashboard must never hold two
    at once, not even while it reconnects."""

    def __init__(self, page):
        self.sockets = []
        self.overlaps = []
        page.on("websocket", self._created)

    def _created(self, socket):
        if self.open:
            self.overlaps.append((socket.url, [other.url for other in self.open]))
        self.sockets.append(socket)

    @property
    def open(self):
        return [socket for socket in self.sockets if not socket.is_closed()]

    @property
    def created(self):
        return len(self.sockets)

    @property
    def closed(self):
        return self.created - len(self.open)
