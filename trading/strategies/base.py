"""The interface every strategy implements, and the condition it reports.

The coordinator owns the state machine; a strategy only says, from the
indicators of the tick, how close each of its entry conditions (while the
instance watches the market) or exit conditions (while it holds a position)
is to being met. The coordinator enters when all entry conditions are met
and exits when any exit condition is.
"""

from dataclasses import dataclass

from trading.exceptions import StrategyConfigError
from trading.market.indicators import clip

# The key of `StrategyInstance.params` where the coordinator keeps the open
# position, so a restarted coordinator can still manage the exit.
POSITION_KEY = "position"


@dataclass(frozen=True)
class Condition:
    """One condition as `condition_progress` shows it: progress runs 0..1
    from `start` (the neutral value) to `threshold`, in either direction."""

    name: str
    value: float
    threshold: float
    progress: float
    met: bool

    @classmethod
    def toward(cls, name, value, threshold, start=0.0):
        rising = threshold >= start
        span = threshold - start
        progress = clip((value - start) / span) if span else 1.0
        met = value >= threshold if rising else value <= threshold
        return cls(name, value, threshold, 1.0 if met else progress, met)

    def as_data(self):
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "threshold": round(self.threshold, 4),
            "progress": round(self.progress, 3),
            "met": self.met,
        }

    def describe(self):
        """For a signal's reason: `pump_score 72.3 >= 60`."""
        relation = ">=" if self.value >= self.threshold else "<="
        return f"{self.name} {self.value:.4g} {relation} {self.threshold:g}"


@dataclass(frozen=True)
class Position:
    side: str
    entry_price: float
    opened_at: float

    @classmethod
    def from_data(cls, data):
        return cls(data["side"], float(data["entry_price"]), float(data["opened_at"]))

    def as_data(self):
        return {"side": self.side, "entry_price": self.entry_price, "opened_at": self.opened_at}

    def pnl_pct(self, price):
        change = (price / self.entry_price - 1.0) * 100.0
        return change if self.side == "long" else -change


class Strategy:
    """Subclasses set `name`, `defaults` (every tunable param, numeric) and
    implement the two condition methods. Params come from the instance's
    `params`, over the defaults, and are checked when the strategy is made."""

    name = None
    side = "long"
    defaults = {}

    def __init__(self, params):
        given = {key: value for key, value in (params or {}).items() if key != POSITION_KEY}
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise StrategyConfigError(
                f"{self.name}: unknown params {unknown}; known: {sorted(self.defaults)}"
            )
        for key, value in given.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise StrategyConfigError(f"{self.name}: param {key} must be a number above 0")
        self.params = {**self.defaults, **given}

    def entry_conditions(self, indicators):
        raise NotImplementedError

    def exit_conditions(self, indicators, position, now):
        raise NotImplementedError
