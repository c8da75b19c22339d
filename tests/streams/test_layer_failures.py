"""When the channel layer or Redis fails under a running server, no client
is left wrong without knowing it (PROTOCOL.md: a seq is never reused within
an epoch; `unavailable` means retry). The real-process faults are in
tests/faults; these pin each rule down on its own."""

import asyncio

import pytest
from channels.layers import get_channel_layer
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.fanout import hub as hubs
from streams.infra import layer, sequence
from streams.infra.layer import FRAME, FRAMES
from streams.publishing.publish import Publisher
from tests.support import services

pytestmark = pytest.mark.django_db(transaction=True)


def running_hub():
    [hub] = [h for h in hubs.local_hubs() if h.loop is asyncio.get_running_loop()]
    return hub


async def eventually(condition, timeout=3):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.02)


class BrokenLayer:
    """A layer that is away: every call fails as redis-py does."""

    def __init__(self, layer):
        self.layer = layer

    async def send(self, channel, message):
        raise RedisConnectionError("Connection closed by server.")

    async def group_discard(self, group, channel):
        raise RedisConnectionError("Connection closed by server.")

    def __getattr__(self, name):
        return getattr(self.layer, name)


class ScriptedRedis:
    """What the probe hears from Redis, set by the test: a run id, whether
    the hub's channel is subscribed, or an error."""

    def __init__(self):
        self.run_id, self.subscribed, self.error = "run-1", True, None

    async def look(self):
        if self.error is not None:
            raise self.error
        return self.run_id, self.subscribed


@pytest.fixture
def redis_answers(monkeypatch):
    answers = ScriptedRedis()
    monkeypatch.setattr("streams.fanout.probe.LayerProbe.look", lambda probe: answers.look())
    return answers


async def test_redis_going_away_closes_sockets_with_1012_and_subscribes_wait(
    connect, owner, trading_session, redis_answers
):
    """Events lost on the way to a process leave no gap until the next one;
    the hub's probe notices, its clients reconnect and resync."""
    client = await connect(owner)
    await client.subscribe(params={"session_id": str(trading_session.pk)})
    hub = running_hub()
    await hub.probe_once(1)
    redis_answers.error = RedisConnectionError("Error 111 connecting. Connection refused.")
    await hub.probe_once(1)
    assert await client.close_code() == 1012
    assert hub.stats["layer_outages"] == 1

    late = await connect(owner)
    await late.send(
        {
            "action": "subscribe",
            "stream": "state_machines",
            "params": {"session_id": str(trading_session.pk)},
            "request_id": 1,
        }
    )
    refused = await late.receive()
    assert refused["data"]["code"] == "unavailable" and refused["request_id"] == 1

    redis_answers.error, redis_answers.run_id = None, "run-2"  # back, empty
    await hub.probe_once(1)
    assert not hub.layer_ok  # restarted: what was sent meanwhile is gone
    await hub.probe_once(1)
    assert hub.layer_ok
    await late.subscribe(params={"session_id": str(trading_session.pk)})


@pytest.mark.parametrize("fault", ["restart", "unsubscribed"])
async def test_a_restart_or_a_lost_subscription_counts_as_trouble(
    connect, owner, redis_answers, fault
):
    client = await connect(owner)
    hub = running_hub()
    await hub.probe_once(1)
    if fault == "restart":
        redis_answers.run_id = "run-2"
    else:
        redis_answers.subscribed = False
    await hub.probe_once(1)
    assert await client.close_code() == 1012


async def test_a_slow_answer_is_not_trouble(connect, owner, redis_answers, monkeypatch):
    """A frozen Redis or a busy process delays events, it doesn't lose
    them: no socket is closed for it."""
    client = await connect(owner)
    hub = running_hub()

    async def slow():
        await asyncio.sleep(5)

    monkeypatch.setattr("streams.fanout.probe.LayerProbe.look", lambda probe: slow())
    await hub.probe_once(0.05)
    assert hub.layer_ok
    await client.send({"action": "ping"})
    assert (await client.receive())["type"] == "pong"


async def test_a_socket_that_leaves_while_the_layer_is_away_leaves_every_group(
    connect, owner, trading_session, other_session, staff
):
    client = await connect(staff)
    for session in (trading_session, other_session):
        await client.subscribe(params={"session_id": str(session.pk)})
    hub = running_hub()
    working = hub.layer
    hub.layer = BrokenLayer(working)
    await client.disconnect()
    await asyncio.sleep(0.05)
    assert not any(hub.members.values())
    assert len(hub._undiscarded) >= 2
    hub.layer = working
    await hub.probe_once(1)
    assert not hub._undiscarded


async def test_a_message_that_breaks_dispatch_costs_that_message_only(connect, owner, monkeypatch):
    client = await connect(owner)
    hub = running_hub()
    original = hub.dispatch
    calls = []

    async def fragile(message):
        if message.get("type") == FRAMES:
            calls.append(message)
        if len(calls) == 1 and message.get("type") == FRAMES:
            raise RuntimeError("a bug in one message")
        await original(message)

    def batch(seq):
        event = {"type": FRAME, "group": "nobody", "seq": seq, "epoch": "e", "frame": "{}"}
        return {"type": FRAMES, "group": "nobody", "frames": [event]}

    monkeypatch.setattr(hub, "dispatch", fragile)
    layer = get_channel_layer()
    await layer.send(hub.channel, batch(1))
    await eventually(lambda: hub.stats["dispatch_errors"] == 1)
    await layer.send(hub.channel, batch(2))
    await eventually(lambda: len(calls) == 2)  # the reader went on
    await client.send({"action": "ping"})
    assert (await client.receive())["type"] == "pong"


async def test_an_event_that_cannot_be_sent_starts_a_new_epoch_for_its_scope(settings, monkeypatch):
    """An event dropped without a trace would make the next one look
    contiguous: the client would never learn what it missed."""
    settings.STREAMS_PUBLISH_RETRY_SECONDS = 0
    publisher = Publisher()
    numbered = []

    async def next_many(requests):
        replies = []
        for _, head, fresh in requests:
            numbered.append(fresh)
            replies.append(("e", len(numbered), sequence.seal(head, "e", len(numbered))))
        return replies

    attempts = []

    async def send(group, payload):
        attempts.append(group)
        if len(attempts) == 1:
            raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(sequence.store(), "next_many", next_many)
    monkeypatch.setattr(layer, "group_send", send)
    publisher._ensure_started()
    from streams.publishing.publish import Event

    for _ in range(2):
        publisher.submit(Event("liquidations", "liquidation", {}, {"symbol": "BTCUSDT"}))
        assert await asyncio.to_thread(publisher.flush)
    # liquidations route to the symbol's scope and "all": the first event's
    # first scope failed, so that scope's next number starts a new epoch.
    assert numbered == [False, False, True, False]


@pytest.mark.redis
async def test_a_counter_restored_from_another_redis_run_starts_a_new_epoch(settings):
    """Data restored from AOF or a lagging replica may lack the last
    increments: reusing those numbers in the same epoch would make clients
    skip events as old."""
    services.require("Redis", bool(settings.REDIS_URL), "REDIS_URL is not set")
    import redis.asyncio as redis

    store = sequence.store()
    group = "st.state_machines.session.restored"
    head = '{"type":"x"'

    async def next_(fresh=False):
        return (await store.next_many([(group, head, fresh)]))[0]

    epoch, seq, _ = await next_()
    again = await next_()
    assert again[:2] == (epoch, seq + 1)
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        await client.hset(store.prefix + group, mapping={"run": "another-run", "seq": 1})
    finally:
        await client.aclose()
    restored_epoch, restored_seq, _ = await next_()
    assert restored_epoch != epoch and restored_seq == 1
    fresh_epoch, fresh_seq, _ = await next_(fresh=True)
    assert fresh_epoch != restored_epoch and fresh_seq == 1


async def test_a_store_that_is_away_answers_unavailable_not_internal_error(
    connect, owner, trading_session, monkeypatch
):
    async def away(group):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(sequence.store(), "current", away)
    client = await connect(owner)
    await client.send(
        {
            "action": "subscribe",
            "stream": "state_machines",
            "params": {"session_id": str(trading_session.pk)},
        }
    )
    assert (await client.receive())["type"] == "subscribed"
    error = await client.receive()
    assert error["data"]["code"] == "unavailable"
