"""One tick's writes: every instance's decided change, written at once.

The driver decides a `Change` per instance; `write()` hands them all to the
model's write path in one `apply_many()`, so a tick of any number of
instances costs a bounded number of statements (one transaction of a few
per 500 rows) instead of a transaction per instance. A row someone else
changed since the tick read it is refused and left alone, and the next tick
starts from the fresh row. Trading signals go out only for the moves that
committed; states and condition progress go out from the ORM signal
handlers, as for any other write.
"""

import logging
from dataclasses import dataclass, field

from trading import actors
from trading.coordinator.broadcast import broadcast_signal
from trading.instances.querysets import REASON_LENGTH
from trading.models import StrategyInstance

logger = logging.getLogger(__name__)


@dataclass
class Change:
    """What the driver decided for `instance` (as read this tick): the
    fields to write, the reason of a move, and the trading signal
    (side, price) to send once the move committed."""

    instance: StrategyInstance
    fields: dict
    reason: str = ""
    signal: tuple = None


@dataclass
class Written:
    moved: list = field(default_factory=list)  # fresh instances whose state changed
    refused: dict = field(default_factory=dict)  # pk -> TradingError


def write(changes, rows_per_transaction=None):
    """Writes `changes` in one transaction, or in one per
    `rows_per_transaction` rows (1 is the design before batching, a
    transaction per instance, which the benchmark measures against)."""
    changes = list(changes)
    size = rows_per_transaction or max(len(changes), 1)
    written = Written()
    for start in range(0, len(changes), size):
        _write_group(changes[start : start + size], written)
    return written


def _write_group(changes, written):
    by_pk = {change.instance.pk: change for change in changes}
    applied = StrategyInstance.objects.apply_many(
        {pk: change.fields for pk, change in by_pk.items()},
        {
            pk: {"state": change.instance.state, "version": change.instance.version}
            for pk, change in by_pk.items()
        },
        {pk: change.reason[:REASON_LENGTH] for pk, change in by_pk.items()},
        {pk: actors.coordinator(change.instance.strategy) for pk, change in by_pk.items()},
    )
    written.refused.update(applied.refused)
    for instance in applied.updated:
        change = by_pk[instance.pk]
        if "state" not in change.fields:
            continue
        written.moved.append(instance)
        logger.info(
            "instance %s (%s %s) -> %s: %s",
            instance.pk,
            instance.strategy,
            instance.symbol,
            instance.state,
            change.reason,
        )
        if change.signal:
            side, price = change.signal
            broadcast_signal(instance, side, change.reason, price)
