"""Embedded mode: events of a process without a server reach the one that has it.

With the in-memory layer (no REDIS_URL) only the process running daphne can
reach browsers. `manage.py serve` announces its address in a file
(STREAMS_RELAY_FILE, under var/, 0600); a process with no server of its own (a
manage.py command, a shell) posts each event, not yet numbered, to that
server over loopback, signed with SECRET_KEY. The server publishes it as if
it were its own, so it takes the next `seq` like every other event.
"""

import hashlib
import hmac
import json
import os
import urllib.request

from django.conf import settings

from config.private_files import write_private

SIGNATURE_HEADER = "X-Streams-Signature"
PATH = "/_streams/relay"


def sign(body):
    return hmac.new(settings.SECRET_KEY.encode(), body, hashlib.sha256).hexdigest()


def verify(body, signature):
    return hmac.compare_digest(sign(body), signature or "")


def announce(url):
    """Called by `serve` once it listens."""
    path = settings.STREAMS_RELAY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps({"url": url, "pid": os.getpid()}))


def withdraw():
    announced = _announced()
    if announced is not None and announced["pid"] == os.getpid():
        settings.STREAMS_RELAY_FILE.unlink()


def target():
    """The announced server's URL, if its process still runs and is not
    this one."""
    announced = _announced()
    if announced is None or announced["pid"] == os.getpid():
        return None
    return announced["url"]


def _announced():
    try:
        announced = json.loads(settings.STREAMS_RELAY_FILE.read_text())
        os.kill(announced["pid"], 0)
        return announced
    except (OSError, ValueError, KeyError, TypeError):
        return None


def forward(url, event):
    """Posts one event; raises OSError if the server did not take it."""
    body = json.dumps(
        {"stream": event.stream, "type": event.type, "data": event.data,
         "keys": event.keys, "conflate_key": event.conflate_key},
        default=str,
    ).encode()
    request = urllib.request.Request(
        url + PATH, data=body, method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)},
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        reply.read()
