"""The AsyncAPI document is generated from the typed messages, so it
cannot drift; these tests hold it to what the server actually sends."""

import jsonschema
import pytest
import yaml
from channels.db import database_sync_to_async as db

from streams.publishing.publish import publish
from streams.wire import messages
from streams.wire.frames import ACTIONS
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def document(client):
    reply = client.get("/api/asyncapi.yaml")
    assert reply.status_code == 200 and reply["Content-Type"] == "application/yaml"
    return yaml.safe_load(reply.content)


def check(document, body):
    """Validates one received message against the document's schema for it."""
    if body["type"] in messages.SYSTEM_MESSAGES:
        name = body["type"]
    else:
        name = f"{body['stream']}.{body['type']}"
    assert name in document["components"]["messages"], f"the document lacks {name}"
    schema = dict(document, **{"$ref": f"#/components/messages/{name}/payload"})
    jsonschema.Draft202012Validator(schema).validate(body)
    return name


def test_it_is_asyncapi_3_with_every_client_frame(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["ws"]["address"] == "/ws"
    assert {f"client.{action}" for action in ACTIONS} <= set(document["components"]["messages"])
    assert set(ACTIONS) == set(messages.CLIENT_FRAMES)


async def test_what_the_server_sends_matches_the_document(
    document, connect, owner, trading_session, flush
):
    client = await connect(owner, welcome=False)
    seen = {check(document, await client.receive())}
    session = {"session_id": str(trading_session.pk)}
    for stream, params in (
        ("state_machines", session),
        ("condition_progress", session),
        ("signals", session),
        ("pump_indicators", {}),
        ("market_data", {}),
        ("liquidations", {}),
    ):
        await client.send(
            {"action": "subscribe", "stream": stream, "params": params, "request_id": stream}
        )
        seen.add(check(document, await client.receive()))
        seen.add(check(document, await client.receive()))
    instance = await db(StrategyInstance.objects.create)(
        session=trading_session, strategy="pump", symbol="BTCUSDT"
    )
    await db(instance.transition_to)("monitoring")
    publish(
        "liquidations",
        "liquidation",
        {
            "symbol": "BTCUSDT",
            "side": "long",
            "price": 1.5,
            "quantity": 2,
            "value_usd": 3.0,
            "timestamp": "2026-11-27T10:00:00.000Z",
        },
        symbol="BTCUSDT",
    )
    await flush()
    events = {
        "state_machines.instance_added",
        "state_machines.state_change",
        "condition_progress.condition_progress",
        "liquidations.liquidation",
    }
    # Over Redis the events reach the hub a moment after the publisher sent
    # them (a first subscription waits out the layer's 0.1 s poll).
    while not events <= seen:
        seen.add(check(document, await client.receive()))
    await client.send({"action": "ping", "request_id": 7})
    seen.add(check(document, await client.receive()))
    await client.send({"action": "subscribe", "stream": "nope"})
    seen.add(check(document, await client.receive()))
    assert {"welcome", "subscribed", "state_machines.full_update", "pong", "error"} <= seen
