"""One test per fault. Each: writes flow (~20/s on 10 instances), the fault
hits, the stack recovers while writes go on, the writer stops, and
`Rig.check` holds the stack to its three promises (support.py).

The timings are short on purpose (the whole package runs in well under
three minutes on two cores): a 1 s outage already loses events in flight,
which is what recovery has to survive; a longer one only adds waiting.
"""

import itertools
import signal
import time

import pytest
from django.db import connection
from django.db.models import Max

from tests.support import processes
from trading.instances import states
from trading.models import StateTransition, StrategyInstance

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.live,
    pytest.mark.redis,
    pytest.mark.postgres,
]

RECOVERY = 3  # seconds of writes after the fault ends, before the writer stops
# Longer than the Redis clients' retry budget (streams/infra/redis_clients.py:
# about 3.5 s of backoff), so the outage is not absorbed by retries and the
# give-up paths (`unavailable`, a new epoch for unsent events) run too.
REDIS_OUTAGE = 5


def finish(rig):
    report = rig.stop_writer()
    assert report["writes"] > 0, report
    rig.check(report["last_write"])
    return report


def survive(rig, fault, repair, lasting, during=None):
    """The shape of every test: writes flow, `fault()` hits and lasts
    `lasting` s (then `during()` looks at what an operator would see),
    `repair()`, writes go on for RECOVERY s, then the promises are checked."""
    rig.steady(1.5)
    fault()
    rig.steady(lasting)
    if during is not None:
        during()
    repair()
    rig.steady(RECOVERY)
    return finish(rig)


def redis_outage(rig, keep_data):
    def load_balancer_sees_it():
        assert rig.health() == [503, 503], "a load balancer must see Redis is gone"

    survive(
        rig,
        rig.redis.kill,
        lambda: rig.redis.restart(keep_data=keep_data),
        REDIS_OUTAGE,
        during=load_balancer_sees_it,
    )
    assert rig.health() == [200, 200]


def test_redis_killed_and_restarted_empty(make_rig):
    """Counters, group subscriptions and pooled connections all vanish:
    events of the outage are lost, so clients must be moved to a new epoch
    (or closed with 1012) and resync."""
    redis_outage(make_rig().start(), keep_data=False)


def test_redis_killed_and_restarted_with_aof(make_rig):
    """Data kept: the counters come back where they were, so the events
    lost in the outage leave no gap by themselves; the server must start a
    new epoch anyway (the run id in the counter changed)."""
    redis_outage(make_rig(aof=True).start(), keep_data=True)


def test_redis_frozen_for_3_seconds(make_rig):
    """SIGSTOP: connections stay open but nothing answers; everything
    queued meanwhile must go through, or be healed, once it answers again."""
    rig = make_rig().start()
    survive(rig, rig.redis.freeze, rig.redis.thaw, 3)


def test_one_daphne_killed_and_restarted(make_rig):
    """Its clients see 1006, reconnect with backoff (refused until it is
    back on the same port), resubscribe; the other daphne's clients must
    not notice."""
    rig = make_rig().start()
    survive(rig, rig.servers[0].kill, rig.servers[0].start, 1)
    assert rig.summary()["connects"] > len(rig.fleet.clients), "nobody reconnected"


def test_one_daphne_frozen_for_3_seconds(make_rig):
    """A stalled server process: its sockets and its Redis subscription stay
    open; after SIGCONT it must catch up (or close and let clients resync)."""
    rig = make_rig().start()
    survive(rig, rig.servers[0].freeze, rig.servers[0].thaw, 3)


# Only the rig's processes: this test process's own connections (its
# worker threads' too) must survive for the tests that come after it.
TERMINATE = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = %s AND application_name = %s
"""


def terminate_other_connections():
    with connection.cursor() as cursor:
        cursor.execute(TERMINATE, [connection.settings_dict["NAME"], processes.CHILD])
        return cursor.fetchone()[0]


def test_postgresql_connections_killed(make_rig):
    """Every other connection to the test database is terminated (a
    failover, pgbouncer restart, idle killer): daphne's persistent
    connections die under it. The clients then resubscribe, so daphne must
    use those dead connections: it must answer `unavailable` or recover,
    never `internal_error`, and the writer's retried writes must reach
    everyone."""
    rig = make_rig().start()
    killed = []

    def kill_and_resubscribe():
        killed.append(terminate_other_connections())
        rig.fleet.resubscribe_all("test: after pg_terminate_backend")

    # Two waves: the second kills the connections opened to recover from
    # the first.
    survive(rig, kill_and_resubscribe, kill_and_resubscribe, 0.5)
    assert killed[0] > 0, "nothing was connected to kill"


def latest_write():
    return StrategyInstance.objects.aggregate(at=Max("updated_at"))["at"]


def assert_history_consistent(session):
    """The database after a SIGKILL: every instance in a state the table
    knows, its StateTransition rows a legal chain ending in its current
    state, and versions that only grow and never exceed the row's."""
    for instance in StrategyInstance.objects.filter(session=session):
        assert instance.state in states.STATES, instance
        moves = list(StateTransition.objects.filter(instance=instance).order_by("version"))
        assert moves and moves[0].from_state == "" and moves[0].version == 1, (instance, moves)
        for before, after in itertools.pairwise(moves):
            assert after.version > before.version, (instance, before, after)
            assert after.from_state == before.to_state, (instance, before, after)
            states.check_transition(after.from_state, after.to_state)
        assert moves[-1].to_state == instance.state, (instance, moves[-1])
        assert moves[-1].version <= instance.version, (instance, moves[-1])
        if len(moves) > 1:
            assert instance.previous_state == moves[-1].from_state, (instance, moves[-1])


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def test_coordinator_killed_mid_tick(make_rig):
    """run_coordinator as fast as the feed goes (always inside a tick), then
    SIGKILL: no half-done write may survive (each is one transaction), and a
    new coordinator must take over from whatever states were left."""
    rig = make_rig().start(writer=False)
    before = latest_write()
    first = rig.coordinator("--speed", "0", "--seed", "7")
    wait_for(lambda: latest_write() > before, 15, "the coordinator wrote nothing")
    rig.steady(1)
    first.signal(signal.SIGKILL)
    first.wait(10)
    # The killed coordinator's open transaction is rolled back by PostgreSQL.
    wait_for(
        lambda: not _idle_in_transaction(), 5, "a transaction of the dead coordinator stays open"
    )
    assert_history_consistent(rig.session)
    killed_at = latest_write()
    versions = dict(
        StrategyInstance.objects.filter(session=rig.session).values_list("pk", "version")
    )

    second = rig.coordinator("--speed", "0", "--seed", "8")
    wait_for(lambda: latest_write() > killed_at, 15, "the restarted coordinator wrote nothing")
    rig.steady(1)
    second.signal(signal.SIGTERM)
    assert second.wait(20) == 0, second.read()[-3000:]
    last_write = time.time()
    assert_history_consistent(rig.session)
    after = dict(StrategyInstance.objects.filter(session=rig.session).values_list("pk", "version"))
    assert any(after[pk] > versions[pk] for pk in versions), "the new coordinator moved nothing"
    rig.check(last_write)


def _idle_in_transaction():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )
        return cursor.fetchone()[0]
