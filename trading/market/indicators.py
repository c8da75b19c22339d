"""Per-symbol market indicators, recomputed by the coordinator on every tick.

Times are market time (the feed's timestamps, in seconds), never the wall
clock, so a replay at 50x or a test that feeds ticks by hand gets the same
numbers as a live run.

- `change_1m_pct` / `change_5m_pct`: percent change of the price against
  the last price seen at least 1 (5) minutes before this tick; while the
  history is shorter than that, against the oldest price seen.
- `volume_ratio`: this tick's volume over the mean volume of the ticks of
  the previous 5 minutes (1.0 while there is no history or no volume yet).
- `pump_score`: 0..100, see `pump_score()`.
"""

import math
from collections import deque
from dataclasses import dataclass

ONE_MINUTE = 60.0
FIVE_MINUTES = 300.0
DAY = 86_400.0

# The pump score saturates at these values (see pump_score()).
PUMP_FULL_CHANGE_1M_PCT = 3.0
PUMP_FULL_CHANGE_5M_PCT = 6.0
PUMP_FULL_VOLUME_RATIO = 5.0
PUMP_WEIGHTS = {"change_1m": 0.5, "change_5m": 0.2, "volume": 0.3}


def clip(value, low=0.0, high=1.0):
    return max(low, min(high, value))


def significant(value, digits=6):
    """Rounds a price the way an exchange's tick size would, at any scale."""
    return float(f"{value:.{digits}g}")


def change_pct(reference, price):
    return (price / reference - 1.0) * 100.0 if reference else 0.0


def pump_score(change_1m_pct, change_5m_pct, volume_ratio):
    """How much the last minutes look like a pump, 0 (quiet) to 100.

    A weighted sum of three parts, each clipped to 0..1, so no single one
    can make a pump on its own and a fall never scores:
      50 % the 1-minute rise, full at +3 %;
      20 % the 5-minute rise, full at +6 % (a pump that is building);
      30 % the volume surge, 0 at the usual volume, full at 5x.
    E.g. +1.5 % in 1 m, +3 % in 5 m at 3x volume scores 25 + 10 + 15 = 50.
    """
    parts = (
        PUMP_WEIGHTS["change_1m"] * clip(change_1m_pct / PUMP_FULL_CHANGE_1M_PCT),
        PUMP_WEIGHTS["change_5m"] * clip(change_5m_pct / PUMP_FULL_CHANGE_5M_PCT),
        PUMP_WEIGHTS["volume"] * clip((volume_ratio - 1.0) / (PUMP_FULL_VOLUME_RATIO - 1.0)),
    )
    return 100.0 * sum(parts)


@dataclass(frozen=True)
class Indicators:
    symbol: str
    price: float
    change_1m_pct: float
    change_5m_pct: float
    volume_ratio: float
    pump_score: float

    def as_data(self):
        """The `indicators` event of PROTOCOL.md."""
        return {
            "symbol": self.symbol,
            "price": self.price,
            "change_1m_pct": round(self.change_1m_pct, 3),
            "change_5m_pct": round(self.change_5m_pct, 3),
            "volume_ratio": round(self.volume_ratio, 3),
            "pump_score": round(self.pump_score, 1),
        }


class _PriceWindow:
    """Prices of the last `span` seconds plus the newest one older than
    that: the reference a change over `span` is measured against."""

    def __init__(self, span):
        self.span = span
        self.samples = deque()

    def reference(self, now):
        while len(self.samples) >= 2 and self.samples[1][0] <= now - self.span:
            self.samples.popleft()
        return self.samples[0][1] if self.samples else None

    def add(self, now, price):
        self.samples.append((now, price))


class _VolumeWindow:
    """Tick volumes of the last `span` seconds with their running sum."""

    def __init__(self, span):
        self.span = span
        self.samples = deque()
        self.total = 0.0

    def mean(self, now):
        while self.samples and self.samples[0][0] <= now - self.span:
            self.total -= self.samples.popleft()[1]
        if not self.samples:
            return None
        return max(self.total, 0.0) / len(self.samples)

    def add(self, now, volume):
        self.samples.append((now, volume))
        self.total += volume


class _DayVolume:
    """Volume of the last 24 hours in one-minute buckets (1,440 at most)."""

    def __init__(self):
        self.buckets = deque()
        self.total = 0.0

    def add(self, now, volume):
        minute = math.floor(now / ONE_MINUTE)
        while self.buckets and self.buckets[0][0] <= minute - DAY / ONE_MINUTE:
            self.total -= self.buckets.popleft()[1]
        if self.buckets and self.buckets[-1][0] == minute:
            self.buckets[-1][1] += volume
        else:
            self.buckets.append([minute, volume])
        self.total += volume
        return max(self.total, 0.0)


class SymbolTracker:
    """The rolling history of one symbol; `update()` is called once per
    quote, in market-time order, and returns the indicators after it."""

    def __init__(self, symbol):
        self.symbol = symbol
        self._one = _PriceWindow(ONE_MINUTE)
        self._five = _PriceWindow(FIVE_MINUTES)
        self._volumes = _VolumeWindow(FIVE_MINUTES)
        self._day = _DayVolume()
        self.volume_24h = 0.0

    def update(self, now, price, volume):
        change_1m = change_pct(self._one.reference(now) or price, price)
        change_5m = change_pct(self._five.reference(now) or price, price)
        mean = self._volumes.mean(now)
        ratio = volume / mean if mean else 1.0
        self._one.add(now, price)
        self._five.add(now, price)
        self._volumes.add(now, volume)
        self.volume_24h = self._day.add(now, volume)
        return Indicators(
            symbol=self.symbol,
            price=price,
            change_1m_pct=change_1m,
            change_5m_pct=change_5m,
            volume_ratio=ratio,
            pump_score=pump_score(change_1m, change_5m, ratio),
        )
