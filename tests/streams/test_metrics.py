"""`GET /metrics`: Prometheus' text, counted where the streams work, for
allowed scrapers only, and summed over processes that share
PROMETHEUS_MULTIPROC_DIR."""

import ipaddress
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async as db
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from tests.streams.test_resume import instance, move, subscribe  # noqa: F401  (fixture)
from tests.support import processes

OUTSIDER = "203.0.113.9"


def values(text):
    """{(sample name, frozenset of labels): value} of an exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@db
def scrape(client):
    reply = client.get("/metrics")
    assert reply.status_code == 200, reply.content
    assert reply["Content-Type"].startswith("text/plain")
    return values(reply.content.decode())


def sample(name, **labels):
    return (name, frozenset(labels.items()))


@pytest.mark.django_db(transaction=True)
async def test_the_streams_activity_shows(connect, owner, trading_session, instance, flush, client):
    subscribed = sample("streams_subscriptions", stream="state_machines")
    before = await scrape(client)
    watcher = await connect(owner)
    snapshot = await watcher.subscribe(params={"session_id": str(trading_session.pk)})
    await db(move)(instance, 2)
    await flush()
    await watcher.receive()
    await watcher.receive()
    assert (
        await subscribe(
            watcher, trading_session, since={"seq": snapshot["seq"], "epoch": snapshot["epoch"]}
        )
    )["data"] == {"recovered": True}
    during = await scrape(client)
    await watcher.disconnect()
    after = await scrape(client)

    def grew(name, by=1, **labels):
        key = sample(name, **labels)
        return during[key] - before.get(key, 0) >= by

    assert during[sample("streams_connections")] == before[sample("streams_connections")] + 1
    assert during[subscribed] == before.get(subscribed, 0) + 1
    assert grew("streams_deliveries_total", 2) and grew("streams_sent_bytes_total", 1000)
    assert grew("streams_resyncs_total", outcome="recovered")
    assert grew("streams_publish_seconds_count", 2) and grew("streams_snapshot_build_seconds_count")
    for name in (
        "streams_gaps_total",
        "streams_slow_clients_closed_total",
        "streams_heartbeat_timeouts_total",
        "streams_layer_outages_total",
    ):
        assert sample(name) in during
    assert after[sample("streams_connections")] == before[sample("streams_connections")]
    assert after[subscribed] == before.get(subscribed, 0)


@pytest.mark.django_db
def test_log_entries_and_the_coordinators_ticks_show(client):
    from trading import metrics  # noqa: F401  (the coordinator's, as serve --coordinator has)

    client.post(
        "/api/logs/",
        {"entries": [{"level": "error", "message": "x"}, {"level": "debug", "message": "y"}]},
        content_type="application/json",
    )

    text = client.get("/metrics").content.decode()
    for name in (
        'logs_frontend_entries_total{outcome="accepted"}',
        'logs_frontend_entries_total{outcome="dropped"}',
        "logs_frontend_throttled_requests_total",
        "trading_coordinator_tick_seconds_count",
    ):
        assert name in text


@override_settings(METRICS_TOKEN="s3cret-token")
def test_only_the_token_opens_it_from_elsewhere(client):
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER).status_code == 403
    assert (
        client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer wrong").status_code
        == 403
    )
    assert (
        client.get(
            "/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer s3cret-token"
        ).status_code
        == 200
    )


def test_loopback_is_allowed_but_not_through_the_proxy(client):
    assert client.get("/metrics").status_code == 200
    # The proxy's own address is loopback too: what it forwards needs the token.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR=OUTSIDER).status_code == 403
    assert client.get("/metrics", HTTP_X_FORWARDED_PROTO="https").status_code == 403


@override_settings(METRICS_ALLOWED_NETWORKS=[ipaddress.ip_network("10.0.0.0/8")])
def test_allowed_networks_are_configured(client):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get("/metrics").status_code == 403


WRITE = """
from collections import Counter
from streams.infra import metrics
metrics.count(Counter(), "deliveries", {n})
metrics.CONNECTIONS.inc()
"""

COLLECT = """
import django, sys
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
sys.stdout.write(Client().get("/metrics").content.decode())
"""


def test_processes_sharing_a_directory_are_summed(tmp_path):
    env = processes.env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    def python(code):
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=processes.ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    python(WRITE.format(n=3))
    python(WRITE.format(n=4))
    scraped = values(python(COLLECT))

    assert scraped[sample("streams_deliveries_total")] == 7
    # Both writers have ended: their connections no longer count.
    assert scraped[sample("streams_connections")] == 0
