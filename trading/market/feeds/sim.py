"""A simulated market, deterministic for a given seed: for demos and tests.

Each symbol is a random walk with its own generator, seeded from the feed's
seed and the symbol's name, so the path of BTCUSDT under seed 7 is the same
whichever other symbols run beside it. Now and then a symbol pumps (a steady
climb on 4-8x volume, with shorts squeezed, then a partial retrace), or a
liquidation cascade hits it (a slide on heavy volume, longs liquidated at
each step).
"""

import math
import random

from trading.market.feeds.base import Batch, Feed, Liquidation, Quote
from trading.market.indicators import significant

# 2026-01-01T00:00:00Z: a fixed start, so a seed gives the same timestamps too.
DEFAULT_START = 1_767_225_600.0
BASE_PRICES = {
    "BTCUSDT": 65_000.0,
    "ETHUSDT": 3_200.0,
    "SOLUSDT": 150.0,
    "DOGEUSDT": 0.15,
    "PEPEUSDT": 0.00001,
}
# Per step (one `interval`, 1 s by default).
PUMP_CHANCE = 1 / 150
CASCADE_CHANCE = 1 / 400
STRAY_LIQUIDATION_CHANCE = 1 / 40
SIGMA = 0.0008
NOTIONAL_PER_STEP = 50_000.0


class _Walker:
    """One symbol's price path and its episodes (pump, retrace, cascade)."""

    def __init__(self, symbol, seed):
        self.symbol = symbol
        self.rng = random.Random(f"{seed}:{symbol}")
        self.price = BASE_PRICES.get(symbol) or self.rng.uniform(1.0, 100.0)
        self.pump = self.retrace = self.cascade = 0
        self.drift = 0.0

    def step(self):
        rng = self.rng
        if not (self.pump or self.retrace or self.cascade):
            roll = rng.random()
            if roll < PUMP_CHANCE:
                self.pump, self.drift = rng.randint(15, 40), rng.uniform(0.0015, 0.004)
            elif roll < PUMP_CHANCE + CASCADE_CHANCE:
                self.cascade = rng.randint(4, 10)
        liquidation = None
        if self.pump:
            self.pump -= 1
            drift, volume_factor = self.drift, rng.uniform(4.0, 8.0)
            if rng.random() < 0.25:
                liquidation = self._liquidation("short")
            if not self.pump:
                self.retrace = rng.randint(5, 40)
        elif self.retrace:
            self.retrace -= 1
            drift, volume_factor = -self.drift * 0.6, rng.uniform(1.5, 3.0)
        elif self.cascade:
            self.cascade -= 1
            drift, volume_factor = -rng.uniform(0.002, 0.006), rng.uniform(2.0, 5.0)
            liquidation = self._liquidation("long", scale=4.0)
        else:
            drift, volume_factor = 0.0, 1.0
            if rng.random() < STRAY_LIQUIDATION_CHANCE:
                liquidation = self._liquidation(rng.choice(("long", "short")))
        self.price *= math.exp(drift + rng.gauss(0.0, SIGMA))
        price = significant(self.price)
        volume = NOTIONAL_PER_STEP * volume_factor * rng.uniform(0.5, 1.5) / price
        return Quote(self.symbol, price, significant(volume), liquidation)

    def _liquidation(self, side, scale=1.0):
        notional = self.rng.uniform(5_000.0, 250_000.0) * scale
        return Liquidation(side, significant(notional / self.price))


class SimulatedFeed(Feed):
    def __init__(self, symbols, seed=0, interval=1.0, start=DEFAULT_START):
        self.seed = seed
        self.interval = interval
        self.start = start
        self._walkers = {}
        self.watch(symbols)

    def watch(self, symbols):
        for symbol in symbols:
            if symbol not in self._walkers:
                self._walkers[symbol] = _Walker(symbol, self.seed)

    def batches(self):
        timestamp = self.start
        while True:
            yield Batch(timestamp, tuple(walker.step() for walker in list(self._walkers.values())))
            timestamp += self.interval

    def describe(self):
        return (
            f"simulated market (seed {self.seed}, {len(self._walkers)} symbols, "
            f"{self.interval:g} s ticks)"
        )
