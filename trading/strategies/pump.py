"""`pump`: buy into a pump early, sell at take-profit, stop-loss or timeout.

Enters when the pump score, the 1-minute rise and the volume surge all
reach their thresholds together (a rise on thin volume or a volume spike
without a rise is not a pump); exits at the first of +take_profit_pct,
-stop_loss_pct or max_hold_seconds of market time.
"""

from trading.strategies.base import Condition, Strategy
from trading.strategies.registry import register


@register
class PumpStrategy(Strategy):
    name = "pump"
    defaults = {
        "min_pump_score": 60.0,
        "min_change_1m_pct": 1.5,
        "min_volume_ratio": 3.0,
        "take_profit_pct": 2.0,
        "stop_loss_pct": 1.0,
        "max_hold_seconds": 300.0,
    }

    def entry_conditions(self, indicators):
        p = self.params
        return [
            Condition.toward("pump_score", indicators.pump_score, p["min_pump_score"]),
            Condition.toward("change_1m_pct", indicators.change_1m_pct, p["min_change_1m_pct"]),
            Condition.toward(
                "volume_ratio", indicators.volume_ratio, p["min_volume_ratio"], start=1.0
            ),
        ]

    def exit_conditions(self, indicators, position, now):
        p = self.params
        pnl = position.pnl_pct(indicators.price)
        return [
            Condition.toward("take_profit", pnl, p["take_profit_pct"]),
            Condition.toward("stop_loss", pnl, -p["stop_loss_pct"]),
            Condition.toward("timeout", now - position.opened_at, p["max_hold_seconds"]),
        ]
