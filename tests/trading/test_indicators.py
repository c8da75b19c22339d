"""Known inputs give known indicator values (trading/market/indicators.py)."""

import pytest

from trading.market.indicators import SymbolTracker, pump_score


def test_pump_score_of_the_documented_example_is_50():
    assert pump_score(1.5, 3.0, 3.0) == pytest.approx(50.0)


@pytest.mark.parametrize(
    "change_1m, change_5m, ratio, expected",
    [
        (0.0, 0.0, 1.0, 0.0),  # a quiet market
        (-4.0, -8.0, 0.5, 0.0),  # a fall never scores
        (3.0, 6.0, 5.0, 100.0),  # every part saturated
        (30.0, 60.0, 50.0, 100.0),  # and no further
        (3.0, 0.0, 1.0, 50.0),  # the 1-minute rise alone is half
        (0.0, 0.0, 5.0, 30.0),  # volume alone is no pump
    ],
)
def test_pump_score_parts(change_1m, change_5m, ratio, expected):
    assert pump_score(change_1m, change_5m, ratio) == pytest.approx(expected)


def test_first_tick_has_no_change_and_a_neutral_volume_ratio():
    first = SymbolTracker("BTCUSDT").update(0.0, 100.0, 10.0)
    assert (first.change_1m_pct, first.change_5m_pct, first.volume_ratio, first.pump_score) == (
        0.0,
        0.0,
        1.0,
        0.0,
    )


def test_changes_are_measured_against_the_last_price_at_least_a_window_old():
    tracker = SymbolTracker("BTCUSDT")
    for now, price, volume in ((0, 100.0, 10.0), (30, 101.0, 10.0), (60, 102.0, 10.0)):
        tracker.update(now, price, volume)
    latest = tracker.update(90, 103.0, 40.0)
    # 1 m: against t=30 (101), the last price at or before 90 - 60.
    assert latest.change_1m_pct == pytest.approx((103 / 101 - 1) * 100)
    # 5 m: the history is shorter, so against the oldest price (100).
    assert latest.change_5m_pct == pytest.approx(3.0)
    assert latest.volume_ratio == pytest.approx(4.0)
    assert latest.pump_score == pytest.approx(
        100 * (0.5 * (103 / 101 - 1) * 100 / 3 + 0.2 * 0.5 + 0.3 * 0.75)
    )
    assert latest.as_data() == {
        "symbol": "BTCUSDT",
        "price": 103.0,
        "change_1m_pct": 1.98,
        "change_5m_pct": 3.0,
        "volume_ratio": 4.0,
        "pump_score": 65.5,
    }


def test_volume_ratio_forgets_ticks_older_than_five_minutes():
    tracker = SymbolTracker("ETHUSDT")
    tracker.update(0, 10.0, 1000.0)
    tracker.update(200, 10.0, 10.0)
    # At t=350 the t=0 tick is gone: the mean is 10, not 505.
    assert tracker.update(350, 10.0, 20.0).volume_ratio == pytest.approx(2.0)


def test_24h_volume_drops_ticks_older_than_a_day():
    tracker = SymbolTracker("SOLUSDT")
    tracker.update(0, 1.0, 5.0)
    tracker.update(30, 1.0, 7.0)
    assert tracker.volume_24h == pytest.approx(12.0)
    tracker.update(86_400 + 61, 1.0, 1.0)
    assert tracker.volume_24h == pytest.approx(1.0)
