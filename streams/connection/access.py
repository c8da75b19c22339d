"""Authority while connected: credentials and subscriptions are checked
again after the handshake, not frozen at it.

A connection keeps what it authenticated with (a DRF token or a Django
login session). It is checked again when a change that may take authority
away is announced to the user's group (`recheck_user`: the user saved or
deleted, a token deleted, an ownership moved) and, as a safety net for
what no signal announces (a session expiring, a raw SQL update), by every
hub every STREAMS_AUTH_RECHECK_SECONDS. Credentials that no longer hold
close the socket with 4401; a subscription the user may no longer see ends
with `unsubscribed` / `reason: forbidden`.

A sweep costs one credential check per distinct credential and one
authorization per distinct (user, subscription) of the process, whatever
the number of sockets sharing them.
"""

import logging
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.db.models import F

from streams.infra.db import in_pool
from streams.wire import errors

logger = logging.getLogger(__name__)

TOKEN = "token"
SESSION = "session"


@dataclass(frozen=True)
class Credentials:
    method: str
    key: str
    user_id: int


def credentials_of(scope):
    """What the handshake authenticated with (the auth middlewares put the
    token key or the session in the scope), or None when anonymous."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    if scope.get("auth_method") == TOKEN:
        return Credentials(TOKEN, scope["auth_token"], user.pk)
    session = scope.get("session")
    if session is None or not session.session_key:
        return None
    return Credentials(SESSION, session.session_key, user.pk)


def current_user(credentials, tokens):
    """The user these credentials stand for now, read from the database, or
    None when they no longer hold (token deleted, user inactive or deleted,
    session logged out or expired, password changed). `tokens`: the
    sweep's tokens and their users, read in one query (`_tokens`)."""
    if credentials.method == TOKEN:
        user = tokens.get(credentials.key)
    else:
        store = import_module(settings.SESSION_ENGINE).SessionStore(credentials.key)
        # get_user() checks the backend, the account and the session's auth
        # hash (a password change signs every session out), as a request would.
        user = get_user(SimpleNamespace(session=store))
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user if user.pk == credentials.user_id else None


def _tokens(keys):
    """{token key: its user}, in one query. Users only: a model instance
    costs Django's init signals, and a sweep of 1,000 tokens with their
    users was a tenth of a max-rate window's samples (BENCHMARKS.md)."""
    users = get_user_model().objects.filter(auth_token__key__in=keys)
    return {user.token_key: user for user in users.annotate(token_key=F("auth_token__key"))}


def review(connections):
    """Runs in a worker thread. `connections` maps credentials to the
    subscriptions held with them ({key: (stream, normalized params)}).
    Returns {credentials: (user or None, keys now forbidden)}; credentials
    whose check failed for a transient reason are left out (no change).

    The cost does not grow with a query per socket: the tokens are read in
    one query, and each subscription is authorized once for all the users
    who hold it (`Stream.authorize_many` where a stream has it)."""
    try:
        tokens = _tokens([c.key for c in connections if c.method == TOKEN])
    except Exception as exc:
        if not errors.is_transient(exc):
            logger.exception("streams: re-checking connections' tokens failed")
        return {}
    users, holders = {}, {}
    for credentials, subscriptions in connections.items():
        try:
            users[credentials] = current_user(credentials, tokens)
        except Exception as exc:
            if not errors.is_transient(exc):
                logger.exception("streams: re-checking a connection's authority failed")
            continue
        if users[credentials] is not None:
            for key, held in subscriptions.items():
                holders.setdefault(key, (held, {}))[1][users[credentials].pk] = users[credentials]
    allowed = {}
    for key, ((stream, params), by_pk) in holders.items():
        try:
            allowed[key] = _allowed(stream, list(by_pk.values()), params)
        except Exception as exc:
            if not errors.is_transient(exc):
                logger.exception("streams: re-checking a subscription failed")
            allowed[key] = set(by_pk)  # unknown: no change
    verdicts = {}
    for credentials, user in users.items():
        lost = set()
        if user is not None:
            lost = {key for key in connections[credentials] if user.pk not in allowed[key]}
        verdicts[credentials] = (user, lost)
    return verdicts


def _allowed(stream, users, params):
    """The pks of `users` who may hold a subscription to `params`."""
    if stream.authorize_many is not None:
        return stream.authorize_many(users, params)
    permitted = set()
    for user in users:
        try:
            stream.authorize(user, params)
        except (errors.Forbidden, errors.InvalidParams):
            continue
        permitted.add(user.pk)
    return permitted


async def recheck(consumers):
    """Checks `consumers` again and tells each the outcome."""
    consumers = [c for c in consumers if c.credentials is not None and not c.closed]
    if not consumers:
        return
    connections = {}
    for consumer in consumers:
        connections.setdefault(consumer.credentials, {}).update(consumer.subscriptions.held())
    verdicts = await in_pool(review)(connections)
    for consumer in consumers:
        verdict = verdicts.get(consumer.credentials)
        if verdict is not None:
            user, lost = verdict
            await consumer.apply_verdict(user, lost)
