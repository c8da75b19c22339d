"""The CSV market file: replayed by `CsvReplayFeed`, written by `write_csv`.

Columns: `timestamp,symbol,price,volume[,side,liquidation_qty]`, with a
header row naming them (in any order). `timestamp` is Unix seconds or ISO
8601; `side` (`long`/`short`) and `liquidation_qty` are filled together on
a row that reports a liquidation. Rows that share a timestamp form one tick.

A file that cannot be replayed at all (missing, no header, unknown columns,
not one valid row) raises FeedError when the feed is made, before anything
starts. A bad row met while replaying is logged with its line number,
counted in `skipped` and left out: a long replay never dies on one row.
"""

import csv
import itertools
import logging
import math
from datetime import datetime
from pathlib import Path

from streams import InvalidParams
from streams import params as stream_params
from trading.exceptions import FeedError
from trading.market.feeds.base import LIQUIDATION_SIDES, Batch, Feed, Liquidation, Quote

logger = logging.getLogger(__name__)

REQUIRED = ("timestamp", "symbol", "price", "volume")
OPTIONAL = ("side", "liquidation_qty")
COLUMNS = REQUIRED + OPTIONAL


class BadRow(ValueError):
    """One row of the file is unusable (internal to the replay: counted and
    skipped, never raised past it)."""


def _number(row, name, *, positive):
    text = (row.get(name) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise BadRow(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise BadRow(f"{name} {text!r} must be {'above' if positive else 'at least'} 0")
    return value


def _timestamp(text):
    text = (text or "").strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRow(f"timestamp {text!r} is neither Unix seconds nor ISO 8601") from None
    if moment.tzinfo is None:
        raise BadRow(f"timestamp {text!r} has no time zone")
    return moment.timestamp()


def parse_row(row):
    """One CSV row (a dict) as (timestamp, Quote); raises BadRow."""
    if None in row or any(value is None for value in row.values()):
        raise BadRow("wrong number of fields")
    try:
        symbol = stream_params.symbol({"symbol": (row["symbol"] or "").strip() or None})
    except InvalidParams:
        symbol = None
    if not symbol:
        raise BadRow(f"symbol {row['symbol']!r} is not a symbol like BTCUSDT")
    timestamp = _timestamp(row["timestamp"])
    price = _number(row, "price", positive=True)
    volume = _number(row, "volume", positive=False)
    side = (row.get("side") or "").strip().lower()
    has_quantity = bool((row.get("liquidation_qty") or "").strip())
    liquidation = None
    if side or has_quantity:
        if side not in LIQUIDATION_SIDES:
            raise BadRow(f"side {side!r} must be one of {', '.join(LIQUIDATION_SIDES)}")
        liquidation = Liquidation(side, _number(row, "liquidation_qty", positive=True))
    return timestamp, Quote(symbol, price, volume, liquidation)


class CsvReplayFeed(Feed):
    def __init__(self, path):
        self.path = Path(path)
        self.skipped = 0
        self._check()

    def describe(self):
        return f"CSV replay of {self.path}"

    def _open(self):
        # utf-8-sig drops a spreadsheet's BOM; undecodable bytes become bad
        # rows instead of an exception in the middle of a replay.
        return self.path.open(newline="", encoding="utf-8-sig", errors="replace")

    def _check(self):
        """Refuses, before the replay starts, a file that can't give a tick."""
        try:
            with self._open() as handle:
                reader = csv.DictReader(handle)
                header = reader.fieldnames
                if not header:
                    raise FeedError(
                        f"{self.path}: empty file; expected a header row {','.join(COLUMNS)}"
                    )
                columns = [name.strip() for name in header]
                problems = []
                missing = [name for name in REQUIRED if name not in columns]
                if missing:
                    problems.append(f"missing {', '.join(missing)}")
                unknown = [name for name in columns if name not in COLUMNS]
                if unknown:
                    problems.append(f"unknown {', '.join(unknown)}")
                if problems:
                    raise FeedError(
                        f"{self.path}: bad header {','.join(columns)!r} ({'; '.join(problems)}); "
                        f"expected {','.join(REQUIRED)}[,{','.join(OPTIONAL)}]"
                    )
                bad = 0
                for row in reader:
                    try:
                        parse_row(self._strip_keys(row))
                        return
                    except BadRow:
                        bad += 1
        except OSError as exc:
            raise FeedError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        raise FeedError(f"{self.path}: no valid data rows ({bad} bad)")

    @staticmethod
    def _strip_keys(row):
        return {(key.strip() if isinstance(key, str) else key): value for key, value in row.items()}

    def _rows(self):
        """Valid (timestamp, Quote) pairs, in file order; bad rows logged."""
        last = None
        with self._open() as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                try:
                    timestamp, quote = parse_row(self._strip_keys(row))
                    if last is not None and timestamp < last:
                        raise BadRow("timestamp goes back in time")
                except BadRow as exc:
                    self.skipped += 1
                    logger.warning("%s line %d: %s; row skipped", self.path, reader.line_num, exc)
                    continue
                last = timestamp
                yield timestamp, quote

    def batches(self):
        for timestamp, rows in itertools.groupby(self._rows(), key=lambda pair: pair[0]):
            yield Batch(timestamp, tuple(quote for _, quote in rows))


def write_csv(feed, handle, ticks):
    """Writes the first `ticks` batches of `feed` as a replayable file;
    returns the number of rows written."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for batch in itertools.islice(feed.batches(), ticks):
        for quote in batch.quotes:
            liquidation = quote.liquidation
            writer.writerow(
                (
                    f"{batch.timestamp:.3f}",
                    quote.symbol,
                    repr(quote.price),
                    repr(quote.volume),
                    liquidation.side if liquidation else "",
                    repr(liquidation.quantity) if liquidation else "",
                )
            )
            rows += 1
    return rows
