"""Attacks on the HTTP server itself, as `make run` serves it (`manage.py
serve`, reached directly): requests sent too slowly to ever end
(slowloris), and bodies too big to be read at all."""

import asyncio
import json
import socket
import time

import pytest
import websockets

from tests.support.live import Serve

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

REQUEST_SECONDS = 2
HOLDERS = 50


@pytest.fixture(scope="module")
def server(django_db_setup):
    """One server for the module, on the test database."""
    with Serve(HTTP_REQUEST_SECONDS=REQUEST_SECONDS, DEBUG="0") as serve:
        yield serve


def connect(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def closed(sock):
    """True once the server has closed `sock` (what it said before, if
    anything, is read and dropped)."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
    finally:
        sock.setblocking(True)


def test_half_sent_requests_are_closed_however_slowly_they_trickle(server):
    """Threat: slowloris. daphne reset its idle timer on every byte, so 50
    requests that never finish their headers, each a byte every 0.5 s,
    held 50 connections (and would hold thousands) for ever."""
    holders = [connect(server) for _ in range(HOLDERS)]
    for sock in holders:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    open_ = list(holders)
    deadline = time.monotonic() + REQUEST_SECONDS + 3
    while open_ and time.monotonic() < deadline:
        for sock in open_:
            try:
                sock.sendall(b"X")
            except OSError:
                pass
        time.sleep(0.5)
        open_ = [sock for sock in open_ if not closed(sock)]

    assert open_ == [], f"{len(open_)} of {HOLDERS} half-sent requests still open"
    for sock in holders:
        sock.close()


def test_a_slow_request_is_told_why_it_was_closed(server):
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")

        reply = sock.recv(4096)

    assert reply.startswith(b"HTTP/1.1 408 ")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1]) == {
        "detail": f"The request took over {REQUEST_SECONDS} s to arrive."
    }


def test_a_declared_200_mb_body_is_refused_before_it_is_sent(server):
    """Threat: memory. daphne read a 200 MB body (to a temporary file, then
    into its queue) before anything could refuse it: RSS 110 -> 316 MiB
    per request. The answer now comes before the client sends the body."""
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/logs/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
        )

        reply = sock.recv(4096)

    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"over 1048576 bytes" in reply


def test_a_chunked_body_is_cut_at_the_limit(server):
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/logs/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        block = b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024)
        try:
            for _ in range(64):  # 4 MiB, unless the server stops it first
                sock.sendall(block)
        except OSError:
            pass

        reply = sock.recv(4096)

    assert reply.startswith(b"HTTP/1.1 413 ")


def test_keep_alive_requests_and_a_quiet_websocket_outlive_the_deadline(server, owner, token_for):
    """The deadline is per request: a connection that sends complete
    requests, and a WebSocket, live on past it."""
    token = token_for(owner)
    with connect(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
            time.sleep(REQUEST_SECONDS / 2 + 0.2)

    async def quiet_socket():
        headers = {"Authorization": f"Token {token}"}
        async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"
            await asyncio.sleep(REQUEST_SECONDS + 1)
            await ws.send(json.dumps({"action": "ping", "request_id": "r"}))
            return json.loads(await ws.recv())

    assert asyncio.run(quiet_socket())["type"] == "pong"
