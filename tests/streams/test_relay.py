"""The embedded mode's relay endpoint refuses what it must."""

import hashlib
import hmac
import json

import pytest
from django.conf import settings
from django.test import override_settings

from streams.publishing import relay

pytestmark = pytest.mark.django_db

EVENT = {
    "stream": "state_machines",
    "type": "state_change",
    "data": {},
    "keys": {"session_id": "1"},
}


def post(client, body, signature, **extra):
    return client.post(
        relay.PATH,
        body,
        content_type="application/json",
        headers={relay.SIGNATURE_HEADER: signature},
        **extra,
    )


@override_settings(REDIS_URL=None)
def test_a_sealed_event_is_taken(client):
    assert post(client, *relay.seal(EVENT)).status_code == 202


@override_settings(REDIS_URL=None)
def test_an_unsigned_or_badly_signed_event_is_refused(client):
    body, _ = relay.seal(EVENT)
    assert post(client, body, "").status_code == 403
    assert post(client, body, relay.sign(b"something else")).status_code == 403


@override_settings(REDIS_URL=None)
def test_a_signature_made_with_the_bare_secret_key_is_refused(client):
    """The relay's key is derived for it alone (salted_hmac), so an HMAC of
    SECRET_KEY made for another purpose cannot pass for it."""
    body, _ = relay.seal(EVENT)
    bare = hmac.new(settings.SECRET_KEY.encode(), body, hashlib.sha256).hexdigest()
    assert post(client, body, bare).status_code == 403


@override_settings(REDIS_URL=None)
def test_an_event_from_another_machine_is_refused(client):
    assert post(client, *relay.seal(EVENT), REMOTE_ADDR="10.1.2.3").status_code == 403


@override_settings(REDIS_URL=None)
def test_a_signed_event_for_an_unknown_stream_is_a_400(client):
    assert post(client, *relay.seal({"stream": "nope", "type": "x", "data": {}})).status_code == 400


@override_settings(REDIS_URL=None)
def test_a_signed_envelope_without_its_timestamp_is_refused(client):
    body = json.dumps({"event": EVENT, "nonce": "n"}).encode()
    assert post(client, body, relay.sign(body)).status_code == 403


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_with_redis_there_is_no_relay(client):
    assert post(client, *relay.seal(EVENT)).status_code == 404


def test_the_nonce_memory_forgets_what_its_window_already_refuses():
    nonces = relay.Nonces()
    assert nonces.add("a", expiry=0) and nonces.add("b", expiry=2e9)
    assert nonces.add("a", expiry=2e9), "expired: the timestamp check refuses it now"
    assert not nonces.add("b", expiry=2e9)
