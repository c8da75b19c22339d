"""The coordinator under PostgreSQL failures: connections killed under it
cost ticks, never the process or an instance's consistency."""

import threading
import time

import pytest
from django.db import OperationalError, connection, connections

from tests.support import services
from trading.coordinator import Coordinator
from trading.instances import states
from trading.market.feeds.sim import SimulatedFeed
from trading.models import StateTransition, StrategyInstance

pytestmark = pytest.mark.django_db(transaction=True)

BACKENDS = """
SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
# Connections this process held before the coordinator started (other
# threads' of earlier tests) are spared: killing them would fail later tests.
KILL_NEW_BACKENDS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)
"""


def backends():
    with connection.cursor() as cursor:
        cursor.execute(BACKENDS)
        return [pid for (pid,) in cursor.fetchall()]


SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT")


class CountingCoordinator(Coordinator):
    """Counts the ticks that went through, as they happen."""

    done = 0

    def step(self, batch):
        moves = super().step(batch)
        self.done += 1
        return moves


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_killed_database_connections_cost_ticks_not_the_coordinator(trading_session, monkeypatch):
    services.require("PostgreSQL", connection.vendor == "postgresql", connection.vendor)
    # As in production (the tests' 0 would reconnect every tick): kept
    # connections, checked before use (CONN_HEALTH_CHECKS).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 60)
    assert connections.settings["default"]["CONN_HEALTH_CHECKS"]
    for symbol in SYMBOLS:
        StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol=symbol)
    coordinator = CountingCoordinator(
        SimulatedFeed(SYMBOLS, seed=3), [trading_session.pk], speed=100
    )
    coordinator.database_pause = 0.2
    stop, outcome = threading.Event(), {}

    def run():
        try:
            outcome["result"] = coordinator.run(stop=stop)
        except BaseException as exc:  # what the test is about
            outcome["error"] = exc
        finally:
            connections.close_all()

    spared = backends()
    thread = threading.Thread(target=run)
    thread.start()
    try:
        for _ in range(4):
            ticked = coordinator.done
            wait_for(lambda t=ticked: coordinator.done >= t + 10 or not thread.is_alive())
            with connection.cursor() as cursor:
                cursor.execute(KILL_NEW_BACKENDS, [spared])
        ticked = coordinator.done
        wait_for(lambda: coordinator.done >= ticked + 20 or not thread.is_alive())
    finally:
        stop.set()
        thread.join(30)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result.ticks >= coordinator.done + result.failed_ticks
    # A kill between ticks costs nothing; one mid-tick costs that tick.
    assert result.failed_ticks <= 4
    # Settled: no instance is left halfway, none failed.
    assert set(result.states) <= {states.IDLE, states.IN_POSITION}
    assert sum(result.states.values()) == len(SYMBOLS)
    moves = StateTransition.objects.exclude(from_state="").values_list("from_state", "to_state")
    assert moves and all(to in states.TRANSITIONS[origin] for origin, to in moves)


@pytest.mark.parametrize("failures, settled", [(2, True), (3, False)])
def test_settling_is_retried_while_the_database_is_lost(
    trading_session, monkeypatch, failures, settled
):
    coordinator = Coordinator(SimulatedFeed(SYMBOLS, seed=3), [trading_session.pk], speed=0)
    coordinator.database_pause = 0
    settle, calls = coordinator.settle, []

    def flaky():
        calls.append(1)
        if len(calls) <= failures:
            raise OperationalError("server closed the connection unexpectedly")
        return settle()

    monkeypatch.setattr(coordinator, "settle", flaky)
    result = coordinator.run(ticks=3)
    assert result.ticks == 3 and len(calls) == min(failures + 1, 3)
    assert (result.states is not None) == settled
    assert ("the database was lost while settling" in result.summary()) != settled
