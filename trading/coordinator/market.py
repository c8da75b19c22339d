"""What one tick of the feed means for the market streams.

`Market` keeps a `SymbolTracker` per symbol and turns each batch of quotes
into the tick's indicators, tickers and liquidation alerts, shaped as
PROTOCOL.md's `indicators`, `ticker` and `liquidation` events.
"""

from dataclasses import dataclass, field

from config.timestamps import now_iso
from trading.market.indicators import SymbolTracker, significant

# Neither feed carries an order book: bid and ask sit one basis point
# either side of the last price.
HALF_SPREAD = 0.0001


@dataclass
class MarketTick:
    timestamp: float
    indicators: dict = field(default_factory=dict)
    tickers: dict = field(default_factory=dict)
    liquidations: list = field(default_factory=list)


class Market:
    def __init__(self):
        self.trackers = {}

    def apply(self, batch):
        tick = MarketTick(batch.timestamp)
        for quote in batch.quotes:
            tracker = self.trackers.get(quote.symbol)
            if tracker is None:
                tracker = self.trackers[quote.symbol] = SymbolTracker(quote.symbol)
            indicators = tracker.update(batch.timestamp, quote.price, quote.volume)
            tick.indicators[quote.symbol] = indicators
            tick.tickers[quote.symbol] = {
                "symbol": quote.symbol,
                "price": quote.price,
                "bid": significant(quote.price * (1 - HALF_SPREAD), 8),
                "ask": significant(quote.price * (1 + HALF_SPREAD), 8),
                "volume_24h": significant(tracker.volume_24h, 8),
            }
            if quote.liquidation is not None:
                tick.liquidations.append(
                    {
                        "symbol": quote.symbol,
                        "side": quote.liquidation.side,
                        "price": quote.price,
                        "quantity": quote.liquidation.quantity,
                        "value_usd": round(quote.price * quote.liquidation.quantity, 2),
                        # When it was seen: a snapshot's alerts keep their time.
                        "timestamp": now_iso(),
                    }
                )
        return tick
