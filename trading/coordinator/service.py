"""The coordinator's loop: feed -> indicators -> market streams -> instances.

`step()` handles one batch of the feed; `run()` paces batches by their
timestamps (`speed` 1 is real time, 10 is ten times faster, 0 as fast as
possible) until the feed ends, `ticks` are done or `stop` is set, then
`settle()`s the instances so none is left halfway. Instances are read
fresh from the database every tick, so one added, stopped or moved in the
admin meanwhile is picked up on the next tick. Run one coordinator per
session.

The database may go away under it (a restart, `pg_terminate_backend`, a
network blip): a tick that loses its connection is counted as failed and
logged as a warning, the coordinator pauses `database_pause` seconds and
goes on with a fresh connection, pacing the feed anew from there. Each tick
starts with `close_old_connections()`, so with CONN_HEALTH_CHECKS a
connection that died between ticks is replaced before use and costs nothing.

Each tick's instance writes go to the database together, in one
transaction (trading/coordinator/writes.py): the decisions are taken from
the rows as read at the start of the tick, and a row changed meanwhile by
someone else (the admin, a command) is left as they made it.

Killed outright mid-tick (SIGKILL, a crash), it leaves the database
consistent: a tick's writes are one conditional transaction of the model's
write path (trading/instances/querysets.py `apply_many`: the rows locked, each
checked against the state and version it was read in and against the
transition table, the state and the position in params saved together), so
an instance is either before or after a legal move, never between. What is
lost is that tick and `settle()`, so instances may be left signal_detected,
entering, exiting or monitoring; those are runnable, and the next start
reads them fresh and continues each from its saved state on its symbol's
first tick (an entry is completed, an exit closed), settling them when it
stops in turn. A buy or sell signal whose save committed just before the
kill may not have been broadcast.

Longer than most modules here because the run loop, its pacing, its
failure handling and settling are one story best read together.
"""

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
)

from streams import new_epoch
from trading import metrics
from trading.coordinator import writes
from trading.coordinator.broadcast import broadcast_tick
from trading.coordinator.claims import session_claims
from trading.coordinator.driver import InstanceDriver
from trading.coordinator.market import Market
from trading.exceptions import SessionTaken
from trading.instances import states
from trading.instances.receivers import STREAM as STATE_MACHINES
from trading.market.streams import CONDITION_PROGRESS, SIGNALS
from trading.models import StrategyInstance, TradingSession

logger = logging.getLogger(__name__)

# Losing the database (as opposed to a bug, or a row it refused).
CONNECTION_ERRORS = (OperationalError, InterfaceError)
RUNNABLE = tuple(sorted(states.LIVE - {states.ERROR}))
UNSETTLED = (states.SIGNAL_DETECTED, states.ENTERING, states.EXITING, states.MONITORING)
# Settling moves a halfway instance to monitoring, then monitoring to idle.
SETTLING_ROUNDS = 2
# How often a coordinator of every session tries again for the sessions
# another coordinator holds (trading/coordinator/claims.py).
RECLAIM_SECONDS = 5.0


@dataclass
class RunResult:
    ticks: int = 0
    moves: int = 0
    failed_ticks: int = 0
    skipped_rows: int = 0
    stopped: bool = False
    states: dict | None = field(default_factory=dict)  # None: could not settle

    def summary(self):
        ran = (
            f"{'stopped' if self.stopped else 'finished'} after {self.ticks} ticks, "
            f"{self.moves} state changes, {self.failed_ticks} failed ticks, "
            f"{self.skipped_rows} bad feed rows skipped"
        )
        if self.states is None:
            return (
                f"{ran}\nthe database was lost while settling, so instances may be "
                "left halfway: the next run continues them (see the log)"
            )
        held = self.states.get(states.IN_POSITION, 0)
        halfway = sum(self.states.get(state, 0) for state in UNSETTLED)
        counts = ", ".join(f"{count} {state}" for state, count in sorted(self.states.items()))
        lines = [
            ran,
            f"instances: {counts or 'none'}",
            f"{halfway} instance(s) could not be settled (see the log)"
            if halfway
            else "every instance is in a consistent state: none is left signal_detected, "
            "entering, exiting or monitoring",
        ]
        if held:
            lines.append(
                f"{held} position(s) stay open in in_position; the next run manages their exit"
            )
        return "\n".join(lines)


class Coordinator:
    timer = staticmethod(time.monotonic)

    # Seconds to wait after losing the database, so a restart is given time
    # and an outage is not hammered (nor the feed run through) tick by tick.
    database_pause = 1.0

    def __init__(
        self, feed, session_ids=(), speed=1.0, conditions_every=2.0, rows_per_transaction=None
    ):
        self.feed = feed
        self.rows_per_transaction = rows_per_transaction
        self.session_ids = [int(pk) for pk in session_ids]
        self.speed = speed
        self.market = Market()
        self.driver = InstanceDriver(conditions_every)
        self.now = 0.0
        self.claims = None  # while run() runs: the sessions this one holds
        self._claimed_at = None
        self._yielded = set()

    def _scope(self):
        rows = StrategyInstance.objects.all()
        if self.session_ids:
            rows = rows.filter(session_id__in=self.session_ids)
        if self.claims is not None:
            rows = rows.filter(session_id__in=self.claims.held)
        return rows

    def claim(self):
        """Called before the first tick and then every RECLAIM_SECONDS: holds
        the sessions this coordinator runs, one coordinator per session.
        A coordinator named its sessions refuses to start on one another
        holds; one of every session leaves those to their holder."""
        wanted = self.session_ids or list(
            TradingSession.objects.filter(status=TradingSession.Status.ACTIVE).values_list(
                "pk", flat=True
            )
        )
        held = self.claims.claim(wanted)
        self._claimed_at = self.timer()
        others = set(wanted) - held
        if others and self.session_ids:
            taken = ", ".join(
                f"{pk} (held by {self.claims.holder(pk) or 'another coordinator'})"
                for pk in sorted(others)
            )
            raise SessionTaken(
                f"session(s) {taken} already have a running coordinator; stop it first "
                "(one coordinator per session)"
            )
        for pk in sorted(others - self._yielded):
            logger.warning(
                "coordinator: session %s is run by another coordinator (%s); leaving it to it",
                pk,
                self.claims.holder(pk) or "unknown",
            )
        self._yielded = others

    def runnable(self):
        return (
            self._scope()
            .filter(state__in=RUNNABLE, session__status=TradingSession.Status.ACTIVE)
            .order_by("id")
        )

    def renew_epochs(self):
        """A coordinator killed between a tick's commit and its events'
        publishing leaves clients without them and without a gap: the next
        coordinator starts each of its sessions' scopes in a new epoch, so
        their subscribers resync before it writes anything."""
        sessions = self._scope().values_list("session_id", flat=True).distinct()
        for session_id in sessions:
            for stream in (STATE_MACHINES, CONDITION_PROGRESS, SIGNALS):
                new_epoch(stream, session_id=str(session_id))

    @metrics.TICK_SECONDS.time()
    def step(self, batch):
        """One tick; returns how many instances changed state."""
        self.now = batch.timestamp
        tick = self.market.apply(batch)
        broadcast_tick(tick)
        instances = list(self.runnable())
        self.feed.watch(sorted({instance.symbol for instance in instances}))
        changes = []
        for instance in instances:
            indicators = tick.indicators.get(instance.symbol)
            if indicators is not None:
                changes.append(self.driver.advance(instance, indicators, tick.timestamp))
        written = self.write(change for change in changes if change is not None)
        for pk, exc in written.refused.items():
            logger.info("instance %s changed meanwhile (%s); next tick starts afresh", pk, exc)
        return len(written.moved)

    def write(self, changes):
        """Called once per tick, and per round of settling, with every
        instance's Change."""
        return writes.write(changes, self.rows_per_transaction)

    def run(self, ticks=None, stop=None):
        """Runs until the feed ends, `ticks` are done or `stop` (a
        threading.Event) is set; always settles the instances."""
        stop = stop or threading.Event()
        self.claims = session_claims()
        try:
            self.claim()
            return self._run(ticks, stop)
        finally:
            self.claims.release()
            self.claims = None

    def _run(self, ticks, stop):
        result = RunResult()
        self.renew_epochs()
        started = first = None
        batches = iter(self.feed.batches())
        while ticks is None or result.ticks < ticks:
            batch = next(batches, None)
            if batch is None or stop.is_set():
                break
            if self.speed > 0:
                if first is None:
                    started, first = self.timer(), batch.timestamp
                due = started + (batch.timestamp - first) / self.speed
                if stop.wait(max(0.0, due - self.timer())):
                    break
            close_old_connections()
            try:
                if self.timer() - self._claimed_at >= RECLAIM_SECONDS:
                    self.claim()
                result.moves += self.step(batch)
            except CONNECTION_ERRORS as exc:
                result.failed_ticks += 1
                logger.warning(
                    "coordinator: tick at %s lost the database (%s); pausing %g s",
                    batch.timestamp,
                    str(exc).strip(),
                    self.database_pause,
                )
                close_old_connections()
                stop.wait(self.database_pause)
                first = None  # pace anew rather than rush the missed ticks
            except Exception:
                result.failed_ticks += 1
                logger.exception("coordinator: tick at %s failed; going on", batch.timestamp)
                close_old_connections()
            result.ticks += 1
        result.stopped = stop.is_set()
        result.skipped_rows = self.feed.skipped
        result.states = self._settle_retrying()
        return result

    def _settle_retrying(self, attempts=3):
        """settle(), tried again while the database is lost; past that the
        instances stay as they are (consistent) for the next start."""
        for attempt in range(1, attempts + 1):
            close_old_connections()
            try:
                return self.settle()
            except DatabaseError as exc:
                logger.warning(
                    "coordinator: settling lost the database (%s), attempt %d of %d",
                    str(exc).strip(),
                    attempt,
                    attempts,
                )
                if attempt < attempts:
                    time.sleep(self.database_pause)
        logger.error("coordinator: could not settle the instances; the next start continues them")
        return None

    def settle(self):
        """Called when the run ends (see driver.stand_down); returns the
        count of instances per state in the coordinator's sessions."""
        for _ in range(SETTLING_ROUNDS):
            unsettled = self._scope().filter(state__in=UNSETTLED).order_by("id")
            changes = [self.driver.stand_down(instance, self.now) for instance in unsettled]
            written = self.write(change for change in changes if change is not None)
            for pk, exc in written.refused.items():
                logger.warning("instance %s could not be settled: %s", pk, exc)
        return dict(Counter(self._scope().values_list("state", flat=True)))
