"""Attacks on the embedded relay, the files under var/, /healthz and the
credentials of the ops commands, made as a client would: against a real
`manage.py serve` / daphne process and real commands where the behaviour
lives in them, with Django's test client otherwise."""

import asyncio
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import websockets
from channels.db import database_sync_to_async as db
from django.conf import settings
from django.test import override_settings

from streams.publishing import relay
from tests.support import processes
from tests.support.live import Daphne, Serve, free_port
from trading.models import StrategyInstance


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def post(url, body, headers):
    """(status, body) of a POST, refusals included."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Wiretap:
    """A loopback proxy between a command and the server that keeps a copy
    of every request it passes on: what an attacker holds who can read
    loopback traffic (a debugging proxy, a packet capture, a log of
    requests)."""

    def __init__(self, upstream):
        self.captured = []
        tap = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower().startswith(("x-streams", "content-type"))
                }
                tap.captured.append((self.path, headers, body))
                status, answer = post(upstream + self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def announce(path, url):
    """A relay file naming `url`, as `serve` writes it; this (live) test
    process stands in for the server's pid."""
    path.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    return path


def make_instance(session):
    return StrategyInstance.objects.create(session=session, strategy="pump", symbol="SOLUSDT")


async def subscribed_socket(server, token, session):
    """A dashboard client of `server`, subscribed to the session's
    state_machines and past its full_update."""
    ws = await websockets.connect(
        server.ws_url, additional_headers={"Authorization": f"Token {token}"}
    )
    await ws.send(
        json.dumps(
            {
                "action": "subscribe",
                "stream": "state_machines",
                "params": {"session_id": str(session.pk)},
            }
        )
    )
    while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "full_update":
        pass
    return ws


async def silent(ws, seconds=1.0):
    try:
        message = await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected message: {message}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
async def test_a_captured_relay_request_cannot_be_replayed(
    tmp_path, owner, trading_session, token_for
):
    """Threat: replay. A request `manage.py transition` relayed to the
    server, captured on loopback and posted again, is refused (403) and
    publishes nothing; the original went through."""
    instance = await db(make_instance)(trading_session)
    token = await db(token_for)(owner)
    with Serve(REDIS_URL="") as server, Wiretap(server.url) as tap:
        ws = await subscribed_socket(server, token, trading_session)
        async with ws:
            result = await asyncio.to_thread(
                processes.manage,
                "transition",
                instance.pk,
                "monitoring",
                REDIS_URL="",
                STREAMS_RELAY_FILE=announce(tmp_path / "relay.json", tap.url),
            )
            assert result.returncode == 0, result.stderr
            change = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert change["data"]["state"] == "monitoring"

            ((path, headers, body),) = tap.captured
            assert post(server.url + path, body, headers)[0] == 403
            assert await silent(ws)


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
async def test_a_relay_request_outside_its_time_window_is_refused(
    owner, trading_session, token_for
):
    """Threat: replay after the server forgot (a restart) or a request
    made ahead. Signed with the right key but a minute old or a minute
    ahead, it is refused; one of now is published."""
    token = await db(token_for)(owner)
    event = {
        "stream": "state_machines",
        "type": "state_change",
        "keys": {"session_id": str(trading_session.pk)},
        "data": {"id": "1", "state": "monitoring"},
    }
    with Serve(REDIS_URL="") as server:
        ws = await subscribed_socket(server, token, trading_session)
        async with ws:

            def relayed(timestamp=None):
                body, signature = relay.seal(event, timestamp)
                return post(server.url + relay.PATH, body, {relay.SIGNATURE_HEADER: signature})[0]

            assert relayed(time.time() - 60) == relayed(time.time() + 60) == 403
            assert await silent(ws, 0.5)
            assert relayed() == 202
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "state_change"


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_a_command_whose_relay_is_refused_fails(trading_session):
    """Threat: silent loss. A server announced with another SECRET_KEY
    refuses the relayed event; the command used to exit 0 while the
    dashboard's clients missed the change without a gap to show it."""
    instance = make_instance(trading_session)
    with Serve(REDIS_URL="", SECRET_KEY="another key, another deployment"):
        result = processes.manage("transition", instance.pk, "monitoring", REDIS_URL="")
    assert result.returncode != 0
    assert "did not reach the dashboard" in result.stderr
    assert "refused it with HTTP 403 (does it run with another SECRET_KEY?)" in result.stderr
    assert "state monitoring" in result.stdout, "the change itself is saved and said"


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_a_command_whose_server_is_gone_fails(tmp_path, trading_session):
    """Threat: silent loss. The announced server does not answer (crashed,
    port closed): the command says so and exits non-zero."""
    instance = make_instance(trading_session)
    dead = announce(tmp_path / "relay.json", f"http://127.0.0.1:{free_port()}")
    result = processes.manage(
        "transition", instance.pk, "monitoring", REDIS_URL="", STREAMS_RELAY_FILE=dead
    )
    assert result.returncode != 0
    assert "could not be reached" in result.stderr and "Connection refused" in result.stderr


@pytest.mark.live
def test_var_and_the_secret_key_are_private_to_the_account():
    """Threat: other accounts of the machine read var/ (database, secret
    key, logs). A var/ and key file left readable by an older version are
    narrowed at start-up: 0700 and 0600."""
    key_file = settings.VAR_DIR / "secret_key"
    settings.VAR_DIR.chmod(0o755)
    if key_file.exists():
        key_file.chmod(0o644)
    result = processes.manage("check", SECRET_KEY="")
    assert result.returncode == 0, result.stderr
    assert mode(settings.VAR_DIR) == 0o700
    assert mode(key_file) == 0o600


@pytest.mark.live
def test_a_migrated_sqlite_database_and_its_wal_are_private(tmp_path):
    """Threat: the SQLite database (plaintext API tokens, session keys) and
    its -wal/-shm files readable by every account."""
    database = tmp_path / "db.sqlite3"
    result = processes.manage("migrate", "--noinput", DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    assert mode(database) == 0o600
    with sqlite3.connect(database) as connection:  # WAL mode is kept in the file
        connection.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', '2026-01-01')"
        )
        connection.commit()
        for companion in ("-wal", "-shm"):
            assert mode(f"{database}{companion}") == 0o600
    connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_the_relay_file_is_private():
    """Threat: the relay file, written by `serve`, readable by every
    account (it says where to post events)."""
    with Serve(REDIS_URL=""):
        assert mode(settings.STREAMS_RELAY_FILE) == 0o600


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_healthz_tells_an_anonymous_caller_nothing_when_the_database_is_gone(tmp_path):
    """Threat: information leak. With the database unreachable, anonymous
    /healthz used to return the driver's error text (paths, hosts, users)."""
    folder = tmp_path / "gone"
    folder.mkdir()
    with Daphne(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", REDIS_URL="") as server:
        shutil.rmtree(folder)
        try:
            urllib.request.urlopen(server.url + "/healthz", timeout=5)
        except urllib.error.HTTPError as reply:
            assert (reply.code, json.loads(reply.read())) == (503, {"status": "unavailable"})
        else:
            raise AssertionError("a missing database is healthy?")


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_healthz_details_are_for_staff_only(client, owner, staff, token_for):
    """Threat: information leak. With Redis unreachable, anonymous callers
    and non-staff tokens get only the status; a staff token gets the checks
    with the error."""
    for headers in (
        {},
        {"Authorization": f"Token {token_for(owner)}"},
        {"Authorization": "Token not-a-token"},
    ):
        reply = client.get("/healthz", headers=headers)
        assert (reply.status_code, reply.json()) == (503, {"status": "unavailable"})
        assert b"refused" not in reply.content.lower()
    reply = client.get("/healthz", headers={"Authorization": f"Token {token_for(staff)}"})
    assert reply.status_code == 503
    assert "refused" in reply.json()["channel_layer"]["error"].lower()
    assert "streams" in reply.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_tail_stream_keeps_its_token_off_the_command_line(owner, trading_session, token_for):
    """Threat: credential in `ps`. `--token KEY` is refused before anything
    connects; STREAMS_TOKEN works and the token shows in no process's
    arguments."""
    token = token_for(owner)
    tail = ["tail_stream", "state_machines", "--param", f"session_id={trading_session.pk}"]
    with Serve(REDIS_URL="") as server:
        refused = processes.manage(*tail, "--url", server.ws_url, "--count", 2, "--token", token)
        assert refused.returncode != 0 and "STREAMS_TOKEN" in refused.stderr
        assert token not in refused.stderr + refused.stdout
        child = subprocess.Popen(
            [sys.executable, "manage.py", *tail, "--url", server.ws_url],
            env=processes.env(STREAMS_TOKEN=token),
            cwd=processes.ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert json.loads(child.stdout.readline())["type"] == "subscribed"
            listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
            assert "tail_stream" in listing and token not in listing
        finally:
            child.terminate()
            child.wait(10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_seed_demo_prints_no_token(tmp_path):
    """Threat: credential on a shared console. seed_demo prints neither the
    token nor a command line holding it; the token is in a 0600 file."""
    from rest_framework.authtoken.models import Token

    token_file = tmp_path / "demo.token"
    for extra in ((), ("--json",)):
        result = processes.manage("seed_demo", "--token-file", token_file, *extra)
        assert result.returncode == 0, result.stderr
        token = Token.objects.get(user__username="demo").key
        assert token not in result.stdout + result.stderr
        assert str(token_file) in result.stdout
    assert token_file.read_text().strip() == token
    assert mode(token_file) == 0o600
