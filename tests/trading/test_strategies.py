"""Strategies: conditions, params, the registry by name."""

import pytest

from trading.exceptions import StrategyConfigError, UnknownStrategy
from trading.market.indicators import Indicators
from trading.strategies import registry
from trading.strategies.base import Condition, Position


def test_a_rising_condition_reports_progress_from_its_start():
    condition = Condition.toward("volume_ratio", 2.0, 3.0, start=1.0)
    assert (condition.progress, condition.met) == (0.5, False)
    assert Condition.toward("volume_ratio", 3.0, 3.0, start=1.0).met


def test_a_falling_condition_progresses_downwards():
    halfway = Condition.toward("stop_loss", -0.5, -1.0)
    assert (halfway.progress, halfway.met) == (0.5, False)
    rising = Condition.toward("stop_loss", 0.7, -1.0)
    assert (rising.progress, rising.met) == (0.0, False)
    hit = Condition.toward("stop_loss", -1.3, -1.0)
    assert (hit.progress, hit.met) == (1.0, True)
    assert hit.describe() == "stop_loss -1.3 <= -1"


def test_condition_data_has_the_protocol_fields():
    data = Condition.toward("pump_score", 30.0, 60.0).as_data()
    assert data == {
        "name": "pump_score",
        "value": 30.0,
        "threshold": 60.0,
        "progress": 0.5,
        "met": False,
    }


def test_strategies_are_found_by_name():
    assert "pump" in registry.names()
    with pytest.raises(UnknownStrategy, match="unknown strategy 'nope'; known: .*pump"):
        registry.get("nope")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"take_profit": 2}, "unknown params"),
        ({"take_profit_pct": "2"}, "must be a number above 0"),
        ({"stop_loss_pct": -1}, "must be a number above 0"),
        ({"max_hold_seconds": True}, "must be a number above 0"),
    ],
)
def test_bad_params_are_refused(params, message):
    with pytest.raises(StrategyConfigError, match=message):
        registry.get("pump")(params)


def test_pump_exit_conditions_follow_the_position():
    strategy = registry.get("pump")({"take_profit_pct": 4, "position": {"ignored": True}})
    position = Position("long", 100.0, opened_at=0.0)
    indicators = Indicators("BTCUSDT", 102.0, 0.0, 0.0, 1.0, 0.0)
    take_profit, stop_loss, timeout = strategy.exit_conditions(indicators, position, now=150.0)
    assert (take_profit.value, take_profit.progress, take_profit.met) == (
        pytest.approx(2.0),
        pytest.approx(0.5),
        False,
    )
    assert (stop_loss.value, stop_loss.threshold, stop_loss.progress) == (
        pytest.approx(2.0),
        -1.0,
        0.0,
    )
    assert (timeout.value, timeout.threshold, timeout.progress) == (150.0, 300.0, 0.5)
