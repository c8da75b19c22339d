"""The embedded mode's relay endpoint refuses what it must."""

import json

import pytest
from django.test import override_settings

from streams import relay

pytestmark = pytest.mark.django_db

EVENT = json.dumps({"stream": "state_machines", "type": "state_change", "data": {},
                    "keys": {"session_id": "1"}}).encode()


def post(client, body, signature, **extra):
    return client.post(relay.PATH, body, content_type="application/json",
                       headers={relay.SIGNATURE_HEADER: signature}, **extra)


@override_settings(REDIS_URL=None)
def test_an_unsigned_or_badly_signed_event_is_refused(client):
    assert post(client, EVENT, "").status_code == 403
    assert post(client, EVENT, relay.sign(b"something else")).status_code == 403


@override_settings(REDIS_URL=None)
def test_an_event_from_another_machine_is_refused(client):
    assert post(client, EVENT, relay.sign(EVENT), REMOTE_ADDR="10.1.2.3").status_code == 403


@override_settings(REDIS_URL=None)
def test_a_signed_event_for_an_unknown_stream_is_a_400(client):
    body = json.dumps({"stream": "nope", "type": "x", "data": {}}).encode()
    assert post(client, body, relay.sign(body)).status_code == 400


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_with_redis_there_is_no_relay(client):
    assert post(client, EVENT, relay.sign(EVENT)).status_code == 404
