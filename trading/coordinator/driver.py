"""Moves one strategy instance through its state machine, one step a tick.

idle -> monitoring -> (all entry conditions met) signal_detected ->
entering -> in_position (position recorded in params) -> (any exit
condition met) exiting -> monitoring, and so on. Every move and every
condition update is a save through the model's race-free write path, so
the dashboard hears of it from the ORM signal handlers like of any other
change; the trading signals (buy/sell) go out once that save committed.

Condition progress is written when a condition flips between met and not
met, or at most every `conditions_every` seconds of market time otherwise,
so a fast feed does not turn into a database write per instance per tick.
"""

import logging
from functools import partial

from django.db import transaction

from trading.instances import states
from trading.coordinator.broadcast import broadcast_signal
from trading.exceptions import StrategyConfigError, UnknownStrategy
from trading.strategies import registry
from trading.strategies.base import POSITION_KEY, Position

logger = logging.getLogger(__name__)

REASON_LENGTH = 200  # StateTransition.reason
_KEEP = object()


def _as_data(conditions):
    return [condition.as_data() for condition in conditions]


def _met(data):
    return tuple(bool(item.get("met")) for item in data)


class InstanceDriver:
    def __init__(self, conditions_every=2.0):
        self.conditions_every = conditions_every
        self._written = {}  # instance pk -> (market time, met flags) of the last write

    def advance(self, instance, indicators, now):
        """Called once per tick for each runnable instance whose symbol
        ticked; returns the state it moved to, or None."""
        try:
            strategy = registry.get(instance.strategy)(instance.params)
        except (UnknownStrategy, StrategyConfigError) as exc:
            return self._write(instance, now, str(exc), state=states.ERROR, conditions=[])
        step = getattr(self, f"_from_{instance.state}")
        return step(instance, strategy, indicators, now)

    # One method per state ---------------------------------------------------

    def _from_idle(self, instance, strategy, indicators, now):
        conditions = _as_data(strategy.entry_conditions(indicators))
        return self._write(instance, now, "coordinator: watching the market",
                           state=states.MONITORING, conditions=conditions)

    def _from_monitoring(self, instance, strategy, indicators, now):
        conditions = strategy.entry_conditions(indicators)
        deciding = conditions if all(condition.met for condition in conditions) else []
        return self._move_on_signal(instance, conditions, deciding, now, "entry",
                                    states.SIGNAL_DETECTED, "buy", indicators.price)

    def _from_signal_detected(self, instance, strategy, indicators, now):
        return self._write(instance, now, f"buy order placed at {indicators.price:g}",
                           state=states.ENTERING)

    def _from_entering(self, instance, strategy, indicators, now):
        position = Position(strategy.side, indicators.price, now)
        conditions = _as_data(strategy.exit_conditions(indicators, position, now))
        return self._write(instance, now, f"filled at {indicators.price:g}",
                           state=states.IN_POSITION, conditions=conditions, position=position)

    def _from_in_position(self, instance, strategy, indicators, now):
        position = self._position(instance, indicators, now)
        conditions = strategy.exit_conditions(indicators, position, now)
        met = [condition for condition in conditions if condition.met]
        return self._move_on_signal(instance, conditions, met, now, "exit",
                                    states.EXITING, "sell", indicators.price)

    def _move_on_signal(self, instance, conditions, deciding, now, label, state, side, price):
        """Moves to `state` with a `side` signal when `deciding` (the
        conditions that justify it) is not empty; otherwise only records
        the conditions' progress."""
        if not deciding:
            self._update_conditions(instance, _as_data(conditions), now)
            return None
        reason = f"{label}: " + "; ".join(condition.describe() for condition in deciding)
        moved = self._write(instance, now, reason, state=state, conditions=_as_data(conditions))
        self._signal(instance, side, reason, price)
        return moved

    def _from_exiting(self, instance, strategy, indicators, now):
        position = self._position(instance, indicators, now)
        pnl = position.pnl_pct(indicators.price)
        conditions = _as_data(strategy.entry_conditions(indicators))
        return self._write(instance, now, f"closed at {indicators.price:g}, pnl {pnl:+.2f}%",
                           state=states.MONITORING, conditions=conditions, position=None)

    # Graceful stop ------------------------------------------------------

    def stand_down(self, instance, now):
        """Called when the coordinator stops: leaves no instance halfway
        (signal_detected, entering, exiting) or watching a market nobody
        watches (monitoring). Positions stay open in in_position, recorded
        in params, for the next run to manage."""
        if instance.state == states.EXITING:
            self._write(instance, now, "coordinator stopping: position closed",
                        state=states.MONITORING, position=None)
        elif instance.state in (states.SIGNAL_DETECTED, states.ENTERING):
            self._write(instance, now, "coordinator stopping: entry cancelled",
                        state=states.MONITORING)
        if instance.state == states.MONITORING:
            self._write(instance, now, "coordinator stopped", state=states.IDLE, conditions=[])

    # Writes -------------------------------------------------------------

    @staticmethod
    def _signal(instance, side, reason, price):
        """Like every event, a signal leaves once its save has committed."""
        transaction.on_commit(partial(broadcast_signal, instance, side, reason, price))

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
            return
        last = self._written.get(instance.pk)
        if last and last[1] == _met(data) and now - last[0] < self.conditions_every:
            return
        self._write(instance, now, "", conditions=data)

    def _write(self, instance, now, reason, *, state=None, conditions=None, position=_KEEP):
        """One save of the instance; raises TransitionConflict when someone
        else changed it first (the next tick starts from the fresh row)."""
        fields = []
        if state is not None:
            instance.state = state
            fields.append("state")
        if conditions is not None:
            instance.conditions = conditions
            fields.append("conditions")
            self._written[instance.pk] = (now, _met(conditions))
        if position is not _KEEP:
            params = dict(instance.params or {})
            if position is None:
                params.pop(POSITION_KEY, None)
            else:
                params[POSITION_KEY] = position.as_data()
            instance.params = params
            fields.append("params")
        instance.save(update_fields=fields, reason=reason[:REASON_LENGTH])
        if state is not None:
            logger.info("instance %s (%s %s) -> %s: %s",
                        instance.pk, instance.strategy, instance.symbol, state, reason)
        return state
