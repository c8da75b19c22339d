"""The market of the coordinator benchmark: every symbol pumps once a
cycle, the symbols' cycles staggered, so each tick some instances enter,
fill, take profit and close while the rest watch and update their
conditions, as a busy live market would make them.

A cycle of one symbol, tick by tick: a +2 % jump on 8x volume (the pump
strategy's entry), two ticks at that price (order placed, filled), +2.5 %
more (take profit), one tick there (closed), then back to the base price
until the next pump. CYCLE does not divide 60 or 300, so the 1- and
5-minute changes are measured against the base price.
"""

from trading.market.feeds.base import Batch, Feed, Quote

CYCLE = 17
BASE_PRICE, BASE_VOLUME = 100.0, 10.0
# Price and volume of each tick of a cycle after the pump's start; past
# them, the base price and volume.
PUMP = (
    (102.0, 80.0),
    (102.0, BASE_VOLUME),
    (102.0, BASE_VOLUME),
    (104.6, BASE_VOLUME),
    (104.6, BASE_VOLUME),
)
SYMBOLS = 50


def symbol(index):
    return f"P{index:03d}USDT"


class PumpingFeed(Feed):
    """`SYMBOLS` symbols, one batch a second of market time, for ever;
    the first CYCLE ticks only build the price history."""

    def __init__(self, start=1_000.0):
        self.start = start

    def batches(self):
        tick = 0
        while True:
            yield Batch(
                self.start + tick,
                tuple(Quote(symbol(index), *self._quote(tick, index)) for index in range(SYMBOLS)),
            )
            tick += 1

    @staticmethod
    def _quote(tick, index):
        phase = (tick - index) % CYCLE
        if tick < CYCLE or phase >= len(PUMP):
            return BASE_PRICE, BASE_VOLUME
        return PUMP[phase]
