"""Decides each strategy instance's next step through its state machine,
one step a tick.

idle -> monitoring -> (all entry conditions met) signal_detected ->
entering -> in_position (position recorded in params) -> (any exit
condition met) exiting -> monitoring, and so on. The driver only decides:
each step is a `Change` that the coordinator writes with the rest of the
tick's (trading/coordinator/writes.py), through the model's race-free write
path, so the dashboard hears of it from the ORM signal handlers like of any
other change; the trading signals (buy/sell) go out once it committed.

Condition progress is written when a condition flips between met and not
met, or at most every `conditions_every` seconds of market time otherwise,
so a fast feed does not turn into a database write per instance per tick.
"""

from trading.coordinator.writes import Change
from trading.exceptions import StrategyConfigError, UnknownStrategy
from trading.instances import states
from trading.strategies import registry
from trading.strategies.base import POSITION_KEY, Position

_KEEP = object()


def _as_data(conditions):
    return [condition.as_data() for condition in conditions]


def _met(data):
    return tuple(bool(item.get("met")) for item in data)


class InstanceDriver:
    def __init__(self, conditions_every=2.0):
        self.conditions_every = conditions_every
        self._written = {}  # instance pk -> (market time, met flags) of the last decided write

    def advance(self, instance, indicators, now):
        """Called once per tick for each runnable instance whose symbol
        ticked; returns its Change, or None."""
        try:
            strategy = registry.get(instance.strategy)(instance.params)
        except (UnknownStrategy, StrategyConfigError) as exc:
            return self._write(instance, now, str(exc), state=states.ERROR, conditions=[])
        step = getattr(self, f"_from_{instance.state}")
        return step(instance, strategy, indicators, now)

    # One method per state ---------------------------------------------------

    def _from_idle(self, instance, strategy, indicators, now):
        conditions = _as_data(strategy.entry_conditions(indicators))
        return self._write(
            instance,
            now,
            "coordinator: watching the market",
            state=states.MONITORING,
            conditions=conditions,
        )

    def _from_monitoring(self, instance, strategy, indicators, now):
        conditions = strategy.entry_conditions(indicators)
        deciding = conditions if all(condition.met for condition in conditions) else []
        return self._move_on_signal(
            instance,
            conditions,
            deciding,
            now,
            "entry",
            states.SIGNAL_DETECTED,
            "buy",
            indicators.price,
        )

    def _from_signal_detected(self, instance, strategy, indicators, now):
        return self._write(
            instance, now, f"buy order placed at {indicators.price:g}", state=states.ENTERING
        )

    def _from_entering(self, instance, strategy, indicators, now):
        position = Position(strategy.side, indicators.price, now)
        conditions = _as_data(strategy.exit_conditions(indicators, position, now))
        return self._write(
            instance,
            now,
            f"filled at {indicators.price:g}",
            state=states.IN_POSITION,
            conditions=conditions,
            position=position,
        )

    def _from_in_position(self, instance, strategy, indicators, now):
        position = self._position(instance, indicators, now)
        conditions = strategy.exit_conditions(indicators, position, now)
        met = [condition for condition in conditions if condition.met]
        return self._move_on_signal(
            instance, conditions, met, now, "exit", states.EXITING, "sell", indicators.price
        )

    def _move_on_signal(self, instance, conditions, deciding, now, label, state, side, price):
        """Moves to `state` with a `side` signal when `deciding` (the
        conditions that justify it) is not empty; otherwise only records
        the conditions' progress."""
        if not deciding:
            return self._update_conditions(instance, _as_data(conditions), now)
        reason = f"{label}: " + "; ".join(condition.describe() for condition in deciding)
        change = self._write(instance, now, reason, state=state, conditions=_as_data(conditions))
        change.signal = (side, price)
        return change

    def _from_exiting(self, instance, strategy, indicators, now):
        position = self._position(instance, indicators, now)
        pnl = position.pnl_pct(indicators.price)
        conditions = _as_data(strategy.entry_conditions(indicators))
        return self._write(
            instance,
            now,
            f"closed at {indicators.price:g}, pnl {pnl:+.2f}%",
            state=states.MONITORING,
            conditions=conditions,
            position=None,
        )

    # Graceful stop ------------------------------------------------------

    def stand_down(self, instance, now):
        """Called when the coordinator stops, once per round of settling:
        leaves no instance halfway (signal_detected, entering, exiting: back
        to monitoring) or watching a market nobody watches (monitoring: to
        idle), one move per round. Positions stay open in in_position,
        recorded in params, for the next run to manage."""
        if instance.state == states.EXITING:
            return self._write(
                instance,
                now,
                "coordinator stopping: position closed",
                state=states.MONITORING,
                position=None,
            )
        if instance.state in (states.SIGNAL_DETECTED, states.ENTERING):
            return self._write(
                instance, now, "coordinator stopping: entry cancelled", state=states.MONITORING
            )
        if instance.state == states.MONITORING:
            return self._write(
                instance, now, "coordinator stopped", state=states.IDLE, conditions=[]
            )
        return None

    # Writes -------------------------------------------------------------

    def _position(self, instance, indicators, now):
        """The recorded position; one put in place by hand without a record
        is adopted at this tick's price."""
        data = (instance.params or {}).get(POSITION_KEY)
        try:
            return Position.from_data(data)
        except (KeyError, TypeError, ValueError):
            return Position("long", indicators.price, now)

    def _update_conditions(self, instance, data, now):
        if data == instance.conditions:
            return None
        last = self._written.get(instance.pk)
        if last and last[1] == _met(data) and now - last[0] < self.conditions_every:
            return None
        return self._write(instance, now, "", conditions=data)

    def _write(self, instance, now, reason, *, state=None, conditions=None, position=_KEEP):
        """The Change of one step; the instance itself stays as read, the
        state and version its write is conditional on."""
        fields = {}
        if state is not None:
            fields["state"] = state
        if conditions is not None:
            fields["conditions"] = conditions
            self._written[instance.pk] = (now, _met(conditions))
        if position is not _KEEP:
            params = dict(instance.params or {})
            if position is None:
                params.pop(POSITION_KEY, None)
            else:
                params[POSITION_KEY] = position.as_data()
            fields["params"] = params
        return Change(instance, fields, reason)
