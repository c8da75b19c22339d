"""The ORM side of a benchmark: a Django process that seeds the data and
drives state changes through `StrategyInstance.transition_to`, exactly as
the coordinator would, so every event takes the real path (post_save ->
on_commit -> publisher -> Redis -> server).

It reads one JSON command per line on stdin and answers one JSON line on
stdout (see `bench.stack.Driver`); it records the wall-clock time right
after each commit, which the load client matches by (instance, version) to
measure commit-to-receipt latency.
"""

import asyncio
import itertools
import json
import sys
import time
import traceback

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import models, transaction  # noqa: E402
from django.db.models.signals import post_save  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench import pumps  # noqa: E402
from streams.infra import sequence  # noqa: E402
from streams.publishing.publish import publisher  # noqa: E402
from streams.wire import groups, registry  # noqa: E402
from trading.coordinator import Coordinator  # noqa: E402
from trading.instances import states  # noqa: E402
from trading.models import StrategyInstance, TradingSession  # noqa: E402

# A cycle of live states, so every change is a `state_change` event.
NEXT = {
    states.MONITORING: states.SIGNAL_DETECTED,
    states.SIGNAL_DETECTED: states.ENTERING,
    states.ENTERING: states.IN_POSITION,
    states.IN_POSITION: states.EXITING,
    states.EXITING: states.MONITORING,
}
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")


def seed(clients, sessions):
    """Creates `clients` staff users with a token each and one session per
    entry of `sessions` (name -> live instances). Instances are inserted with
    Django's plain bulk_create, which announces nothing: no client is
    connected yet, and announcing 11,000 rows to nobody costs seconds."""
    User = get_user_model()
    with transaction.atomic():
        owner = User.objects.create(username="bench-owner", is_staff=True)
        users = User.objects.bulk_create(
            User(username=f"bench-{i}", is_staff=True, password="!") for i in range(clients)
        )
        tokens = Token.objects.bulk_create(
            Token(user=user, key=Token.generate_key()) for user in users
        )
        made = {}
        for name, count in sessions.items():
            session = TradingSession.objects.create(name=f"bench {name}", owner=owner)
            models.QuerySet(StrategyInstance).bulk_create(
                (
                    StrategyInstance(
                        session=session,
                        strategy=f"pump-{i % 7}",
                        symbol=SYMBOLS[i % len(SYMBOLS)],
                        state=states.MONITORING,
                    )
                    for i in range(count)
                ),
                batch_size=2000,
            )
            made[name] = str(session.pk)
    return {"tokens": [token.key for token in tokens], "sessions": made}


def drive(session, events, rate):
    """Moves instances of `session` round-robin, `rate` changes per second
    (0: as fast as the database allows), and waits until the publisher has
    handed every event to the channel layer."""
    instances = list(StrategyInstance.objects.filter(session_id=session, state__in=NEXT))
    commits = []
    started = time.monotonic()
    for i in range(events):
        if rate:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        instance = instances[i % len(instances)]
        instance.transition_to(NEXT[instance.state], reason="bench")
        commits.append((int(instance.pk), instance.version, time.time()))
    elapsed = time.monotonic() - started
    if not publisher().flush(timeout=60):
        raise RuntimeError("the publisher did not hand every event on within 60 s")
    return {"commits": commits, "seconds": elapsed, **window(session)}


def seed_coordinated(sizes):
    """One session per size of `pump` instances spread over the pumping
    feed's symbols, for the coordinator to run; inserted silently, like
    seed()'s."""
    owner = get_user_model().objects.get(username="bench-owner")
    made = {}
    with transaction.atomic():
        for size in sizes:
            session = TradingSession.objects.create(name=f"bench coordinated {size}", owner=owner)
            models.QuerySet(StrategyInstance).bulk_create(
                (
                    StrategyInstance(
                        session=session,
                        strategy="pump",
                        symbol=pumps.symbol(i % pumps.SYMBOLS),
                        state=states.MONITORING,
                    )
                    for i in range(size)
                ),
                batch_size=2000,
            )
            made[str(size)] = str(session.pk)
    return made


class TimedCoordinator(Coordinator):
    """Times each tick, and notes when each written instance's event left
    for the publisher: an on-commit callback queued right after the
    event's own, so the latency runs from the commit, not from the end of
    the tick's bookkeeping after it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tick_seconds, self.commits = [], []

    def step(self, batch):
        started = time.perf_counter()
        moves = super().step(batch)
        self.tick_seconds.append(time.perf_counter() - started)
        return moves

    def saved(self, sender, instance, update_fields=None, **kwargs):
        if not update_fields or "state" not in update_fields:
            return  # not a move: no state_change to time
        pk, version = int(instance.pk), instance.version
        transaction.on_commit(lambda: self.commits.append((pk, version, time.time())))


def coordinate(session, ticks, rows_per_transaction=None):
    """Runs the coordinator on `session` for `ticks` ticks of the pumping
    feed, one a second (a tick that overruns delays the next), after
    putting every instance back to monitoring with no position, silently,
    so each run starts alike, and a warm-up of one cycle at full speed that
    builds the price history. Returns each tick's seconds and the commits."""
    models.QuerySet(StrategyInstance).filter(session_id=session).update(
        state=states.MONITORING, conditions=[], params={}
    )
    feed = pumps.PumpingFeed()
    coordinator = TimedCoordinator(feed, [session], rows_per_transaction=rows_per_transaction)
    batches = feed.batches()
    for batch in itertools.islice(batches, pumps.CYCLE):
        coordinator.step(batch)
    coordinator.tick_seconds, coordinator.commits = [], []
    started = time.monotonic()
    post_save.connect(coordinator.saved, sender=StrategyInstance, weak=False)
    try:
        for number, batch in enumerate(itertools.islice(batches, ticks)):
            time.sleep(max(0.0, started + number - time.monotonic()))
            coordinator.step(batch)
    finally:
        post_save.disconnect(coordinator.saved, sender=StrategyInstance)
    if not publisher().flush(timeout=60):
        raise RuntimeError("the publisher did not hand every event on within 60 s")
    return {"tick_s": coordinator.tick_seconds, "commits": coordinator.commits, **window(session)}


def window(session):
    """The scope's current seq: the clients expect every event after it."""
    stream = registry.get("state_machines")
    group = groups.stream_group(stream.name, stream.scope({"session_id": session}))
    epoch, seq = asyncio.run(sequence.store().current(group))
    return {"epoch": epoch, "seq": seq}


def table(session):
    """What every subscriber's table must equal once the events are in."""
    rows = StrategyInstance.objects.filter(session_id=session, state__in=states.LIVE)
    return {
        "instances": {
            str(pk): [version, state]
            for pk, version, state in rows.values_list("pk", "version", "state")
        }
    }


COMMANDS = {
    "seed": seed,
    "seed_coordinated": seed_coordinated,
    "drive": drive,
    "coordinate": coordinate,
    "window": window,
    "table": table,
}


def main():
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = COMMANDS[request.pop("command")](**request)
        except Exception as exc:
            traceback.print_exc()
            reply = {"error": repr(exc)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
