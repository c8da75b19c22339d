"""PROTOCOL.md "Errors": nothing a client sends may crash the consumer or
affect another client."""

import json

import pytest
from django.test import override_settings

from streams.connection.ratelimit import TokenBucket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def pair(connect, owner, stranger):
    """A hostile client and a well-behaved bystander."""
    return await connect(stranger), await connect(owner)


async def assert_bystander_fine(bystander):
    await bystander.send({"action": "ping", "request_id": "still-here"})
    pong = await bystander.receive()
    assert pong["type"] == "pong" and pong["request_id"] == "still-here"


@pytest.mark.parametrize(
    "frame, code",
    [
        ("this is not json", "bad_json"),
        ("[1, 2, 3]", "bad_json"),
        ('"a string"', "bad_json"),
        ("{}", "unknown_action"),
        ('{"action": "explode"}', "unknown_action"),
        ('{"action": 7}', "unknown_action"),
        ('{"action": "subscribe", "stream": "no_such_stream"}', "unknown_stream"),
        ('{"action": "subscribe"}', "unknown_stream"),
        ('{"action": "subscribe", "stream": ["state_machines"]}', "unknown_stream"),
        ('{"action": "subscribe", "stream": "state_machines", "params": []}', "invalid_params"),
        (
            '{"action": "subscribe", "stream": "state_machines", "params": {"session_id": {"x": 1}}}',
            "invalid_params",
        ),
        (
            '{"action": "subscribe", "stream": "state_machines", "params": {"session_id": true}}',
            "invalid_params",
        ),
        (
            '{"action": "subscribe", "stream": "state_machines", "params": {"session_id": "abc"}}',
            "invalid_params",
        ),
        (
            '{"action": "subscribe", "stream": "state_machines", "params": {"session_id": "999999"}}',
            "invalid_params",
        ),
        (
            '{"action": "subscribe", "stream": "state_machines", "params": {"colour": "red"}}',
            "invalid_params",
        ),
        ('{"action": "unsubscribe", "stream": "state_machines", "params": 5}', "invalid_params"),
        ('{"action": "ping", "request_id": {"nested": true}}', "invalid_params"),
    ],
)
async def test_bad_frames_get_their_error_and_the_socket_stays_open(pair, frame, code):
    hostile, bystander = pair
    await hostile.send(frame)
    error = await hostile.receive()
    assert error["type"] == "error"
    assert error["data"]["code"] == code
    assert error["data"]["message"]
    await hostile.send({"action": "ping"})
    assert (await hostile.receive())["type"] == "pong"
    await assert_bystander_fine(bystander)


async def test_errors_name_the_stream_and_echo_request_id(pair):
    hostile, _ = pair
    await hostile.send(
        {
            "action": "subscribe",
            "stream": "state_machines",
            "params": {"session_id": "x"},
            "request_id": 41,
        }
    )
    error = await hostile.receive()
    assert error["stream"] == "state_machines"
    assert error["request_id"] == 41


async def test_binary_frame_is_bad_json(pair):
    hostile, bystander = pair
    await hostile.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await hostile.receive())["data"]["code"] == "bad_json"
    await assert_bystander_fine(bystander)


async def test_frame_over_64_kib_is_too_large(pair):
    hostile, bystander = pair
    await hostile.send(json.dumps({"action": "ping", "pad": "x" * 100_000}))
    error = await hostile.receive()
    assert error["data"]["code"] == "too_large"
    await hostile.send({"action": "ping"})
    assert (await hostile.receive())["type"] == "pong"
    await assert_bystander_fine(bystander)


async def test_a_thousand_frames_in_a_second_are_rate_limited_then_closed(pair):
    hostile, bystander = pair
    for _ in range(1000):
        await hostile.send({"action": "ping"})
    seen, code = [], None
    while code is None:
        output = await hostile.communicator.receive_output(2)
        if output["type"] == "websocket.close":
            code = output["code"]
        else:
            seen.append(json.loads(output["text"]))
    assert code == 4429
    errors = [m for m in seen if m["type"] == "error"]
    assert [e["data"]["code"] for e in errors] == ["rate_limited"]
    assert 0 < sum(m["type"] == "pong" for m in seen) < 1000
    await assert_bystander_fine(bystander)


class FakeClock:
    now = 1000.0

    @classmethod
    def time(cls):
        return cls.now


@override_settings(STREAMS_RATE_PER_SECOND=5, STREAMS_RATE_BURST=5)
async def test_a_client_that_slows_down_is_served_again(connect, owner, monkeypatch):
    monkeypatch.setattr(TokenBucket, "timer", staticmethod(FakeClock.time))
    client = await connect(owner)
    for _ in range(6):
        await client.send({"action": "ping"})
    replies = [await client.receive() for _ in range(6)]
    assert [r["type"] for r in replies] == ["pong"] * 5 + ["error"]
    FakeClock.now += 1
    await client.send({"action": "ping"})
    assert (await client.receive())["type"] == "pong"
