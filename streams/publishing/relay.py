"""Embedded mode: events of a process without a server reach the one that has it.

With the in-memory layer (no REDIS_URL) only the process running daphne can
reach browsers. `manage.py serve` announces its address in a file
(STREAMS_RELAY_FILE, under var/, 0600); a process with no server of its own
(a manage.py command, a shell) posts each event, not yet numbered, to that
server over loopback. The server publishes it as if it were its own, so it
takes the next `seq` like every other event.

Each request is sealed: the event, a timestamp and a random nonce, signed
with a key derived from SECRET_KEY for this use only (salted_hmac). The
server takes a request within WINDOW seconds of its timestamp and only
once, so a request captured on the way (a proxy's log, a packet capture)
cannot be replayed, then or later.

A request the server did not take is lost for its clients: the event never
got a `seq`, so they see no gap. `forward` therefore keeps each failure,
and the command that published says so and fails (trading.management.base).
"""

import heapq
import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from config.private_files import write_private
from streams.infra import layer

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Streams-Signature"
PATH = "/_streams/relay"
SALT = "streams.publishing.relay"
# Seconds a sealed request stays valid, either side of its timestamp: the
# two processes share the machine's clock, and a post takes milliseconds.
WINDOW = 30


class Refused(Exception):
    """A request the server must not publish; the message says why (for the
    server's log, not for the caller)."""


def sign(body):
    return salted_hmac(SALT, body, algorithm="sha256").hexdigest()


def seal(event, timestamp=None):
    """`event` (a dict) -> (body, signature) for one post."""
    body = json.dumps(
        {
            "event": event,
            "timestamp": time.time() if timestamp is None else timestamp,
            "nonce": secrets.token_hex(16),
        },
        default=str,
    ).encode()
    return body, sign(body)


def unseal(body, signature):
    """The event of a request signed here, fresh and not seen before;
    raises Refused otherwise. Checked in that order, so only requests made
    with the key take room in the replay memory."""
    if not constant_time_compare(sign(body), signature or ""):
        raise Refused("bad signature")
    try:
        sealed = json.loads(body)
        event, timestamp, nonce = sealed["event"], float(sealed["timestamp"]), sealed["nonce"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused(f"malformed: {exc}") from None
    if abs(time.time() - timestamp) > WINDOW:
        raise Refused(f"timestamp {timestamp:.0f} is more than {WINDOW} s away")
    if not _seen.add(nonce, timestamp + WINDOW):
        raise Refused(f"nonce {nonce} was already used")
    return event


class Nonces:
    """The nonces of the requests taken within the last WINDOW seconds:
    older ones need no memory, their timestamp refuses them already. A heap
    by expiry keeps forgetting cheap under a burst of relayed events."""

    def __init__(self):
        self._nonces = set()
        self._by_expiry = []
        self._lock = threading.Lock()

    def add(self, nonce, expiry):
        """False if `nonce` is already here."""
        now = time.time()
        with self._lock:
            while self._by_expiry and self._by_expiry[0][0] < now:
                self._nonces.discard(heapq.heappop(self._by_expiry)[1])
            if nonce in self._nonces:
                return False
            self._nonces.add(nonce)
            heapq.heappush(self._by_expiry, (expiry, nonce))
            return True


_seen = Nonces()


def announce_server(url):
    """Called by `serve` once it listens."""
    path = settings.STREAMS_RELAY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps({"url": url, "pid": os.getpid()}))


def withdraw_server():
    announced = _announced()
    if announced is not None and announced["pid"] == os.getpid():
        settings.STREAMS_RELAY_FILE.unlink()


def destination():
    """Where this process's events must be relayed to: the announced
    server's URL when nothing in this process can hear them, else None."""
    if layer.embedded() and not layer.receivers_here():
        return target()
    return None


def unheard():
    """Whether events published here reach no client at all (embedded, no
    server in this process and none announced). The caller says so to its
    user; the layer's own warning then stays quiet."""
    if layer.embedded() and not layer.receivers_here() and target() is None:
        layer.explained()
        return True
    return False


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


_failures = []


def forward(url, event):
    """Posts one event (a streams.publishing.publish.Event). A failure is logged and
    kept for `relay_failures`, not raised: the publisher goes on with the
    next event."""
    body, signature = seal(
        {
            "stream": event.stream,
            "type": event.type,
            "data": event.data,
            "keys": event.keys,
            "conflate_key": event.conflate_key,
        }
    )
    request = urllib.request.Request(
        url + PATH,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            reply.read()
    except urllib.error.HTTPError as exc:
        _fail(
            url,
            f"refused it with HTTP {exc.code}"
            + (" (does it run with another SECRET_KEY?)" if exc.code == 403 else ""),
        )
    except OSError as exc:
        _fail(url, f"could not be reached: {getattr(exc, 'reason', exc)}")


def _fail(url, why):
    failure = f"the server announced at {url} {why}"
    logger.warning("streams relay: an event is lost: %s", failure)
    _failures.append(failure)


def relay_failures():
    """What went wrong since the last call (one line per lost event),
    oldest first."""
    taken = list(_failures)
    del _failures[: len(taken)]
    return taken
