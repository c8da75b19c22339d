"""The one small interface every market feed implements.

A feed yields `Batch`es in market-time order: every quote that carries the
same timestamp. The coordinator paces them (real time, accelerated, or as
fast as possible) from their timestamps, so a feed never sleeps.
"""

from collections.abc import Iterator
from dataclasses import dataclass

LIQUIDATION_SIDES = ("long", "short")


@dataclass(frozen=True)
class Liquidation:
    """Positions of `side` ("long" or "short") force-closed at the quote's
    price."""

    side: str
    quantity: float


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: float
    volume: float
    liquidation: Liquidation | None = None


@dataclass(frozen=True)
class Batch:
    timestamp: float
    quotes: tuple


class Feed:
    """Base class of the feeds. `skipped` counts input the feed had to drop
    (bad CSV rows), for the coordinator's end-of-run report."""

    skipped = 0

    def batches(self) -> Iterator[Batch]:
        raise NotImplementedError

    def watch(self, symbols):
        """Called with the symbols the live instances trade, each tick: a feed
        that can make up data (the simulation) starts serving new ones; a
        recorded feed has what it has."""

    def describe(self):
        return type(self).__name__
