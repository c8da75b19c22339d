"""How the coordinator's own events leave: market store first, then the
one publish function (see trading/market/store.py for why in that order).

Only market events and trading signals go out from here; instance states
and condition progress go out from the ORM signal handlers when the
coordinator saves an instance.
"""

from config.timestamps import now_iso
from streams import publish
from trading.market import store as market_store
from trading.market.streams import (
    LIQUIDATIONS,
    MARKET_DATA,
    PUMP_INDICATORS,
    SIGNALS,
    signals_key,
)


def broadcast_tick(tick):
    store = market_store.store()
    indicators = {symbol: value.as_data() for symbol, value in tick.indicators.items()}
    store.put_latest(PUMP_INDICATORS, indicators)
    store.put_latest(MARKET_DATA, tick.tickers)
    store.push_recent(LIQUIDATIONS, tick.liquidations)
    for symbol, data in indicators.items():
        publish(PUMP_INDICATORS, "indicators", data, conflate_key=symbol, symbol=symbol)
    for symbol, data in tick.tickers.items():
        publish(MARKET_DATA, "ticker", data, conflate_key=symbol, symbol=symbol)
    for data in tick.liquidations:
        publish(LIQUIDATIONS, "liquidation", data, symbol=data["symbol"])


def broadcast_signal(instance, side, reason, price):
    """Called after the save that moved the instance has committed."""
    data = {
        "instance_id": str(instance.pk),
        "symbol": instance.symbol,
        "side": side,
        "reason": reason,
        "price": price,
        "timestamp": now_iso(),
    }
    session_id = str(instance.session_id)
    market_store.store().push_recent(signals_key(session_id), [data])
    publish(SIGNALS, "signal", data, session_id=session_id)
    return data
