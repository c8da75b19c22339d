"""The simulated feed is reproducible; the CSV replay survives bad rows and
refuses, before starting, a file it can't replay."""

import io
import itertools
import logging
from pathlib import Path

import pytest
from django.core.management import call_command

from trading.exceptions import FeedError
from trading.market.feeds.replay import CsvReplayFeed, write_csv
from trading.market.feeds.sim import SimulatedFeed
from trading.market.feeds.spec import open_feed

SAMPLE = Path(__file__).resolve().parents[2] / "trading" / "data" / "sample_feed.csv"


def first(feed, ticks):
    return list(itertools.islice(feed.batches(), ticks))


def test_a_seed_gives_the_same_market():
    assert first(SimulatedFeed(["BTCUSDT", "ETHUSDT"], seed=3), 200) == first(
        SimulatedFeed(["BTCUSDT", "ETHUSDT"], seed=3), 200
    )
    assert first(SimulatedFeed(["BTCUSDT"], seed=3), 50) != first(
        SimulatedFeed(["BTCUSDT"], seed=4), 50
    )


def test_a_symbols_path_does_not_depend_on_the_others():
    alone = [batch.quotes[0] for batch in first(SimulatedFeed(["SOLUSDT"], seed=9), 100)]
    beside = [
        batch.quotes[1] for batch in first(SimulatedFeed(["BTCUSDT", "SOLUSDT"], seed=9), 100)
    ]
    assert alone == beside


def test_the_simulation_has_pumps_and_liquidation_cascades():
    quotes = [
        q
        for batch in first(SimulatedFeed(["BTCUSDT", "ETHUSDT", "SOLUSDT"], seed=7), 600)
        for q in batch.quotes
    ]
    sides = {q.liquidation.side for q in quotes if q.liquidation}
    assert sides == {"long", "short"}
    volumes = [q.volume * q.price for q in quotes]
    assert max(volumes) > 4 * sorted(volumes)[len(volumes) // 2]  # a surge


def test_a_watched_symbol_joins_the_next_tick():
    feed = SimulatedFeed(["BTCUSDT"], seed=1)
    batches = feed.batches()
    next(batches)
    feed.watch(["BTCUSDT", "XRPUSDT"])
    assert [q.symbol for q in next(batches).quotes] == ["BTCUSDT", "XRPUSDT"]


def write(tmp_path, text, name="feed.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "timestamp,symbol,price,volume,side,liquidation_qty\n"


def test_rows_with_the_same_timestamp_form_one_tick(tmp_path):
    path = write(tmp_path, GOOD + "1,BTCUSDT,100,2,,\n1,ETHUSDT,10,3,long,4\n2,BTCUSDT,101,1,,\n")
    ticks = first(CsvReplayFeed(path), 10)
    assert [(t.timestamp, len(t.quotes)) for t in ticks] == [(1.0, 2), (2.0, 1)]
    liquidation = ticks[0].quotes[1].liquidation
    assert (liquidation.side, liquidation.quantity) == ("long", 4.0)


def test_iso_timestamps_and_a_short_header_are_fine(tmp_path):
    path = write(tmp_path, "symbol,timestamp,volume,price\nbtcusdt,2026-01-01T00:00:01+00:00,1,5\n")
    (tick,) = first(CsvReplayFeed(path), 10)
    assert tick.timestamp == 1_767_225_601.0
    assert tick.quotes[0].symbol == "BTCUSDT"


def test_a_bad_row_is_named_counted_and_skipped(tmp_path, caplog):
    path = write(
        tmp_path,
        GOOD
        + "\n".join(
            [
                "1,BTCUSDT,100,2,,",  # line 2: fine
                "2,BTCUSDT,abc,2,,",  # line 3: price
                "3,BTCUSDT,100,2,sideways,1",  # line 4: side
                "4,BTCUSDT,100",  # line 5: too few fields
                "5,BTCUSDT,100,2,,,extra",  # line 6: too many
                "0.5,BTCUSDT,100,2,,",  # line 7: back in time
                "6,???,100,2,,",  # line 8: symbol
                "7,BTCUSDT,-1,2,,",  # line 9: negative price
                "8,BTCUSDT,100,2,long,",  # line 10: side without quantity
                "9,BTCUSDT,101,2,,",  # line 11: fine
            ]
        )
        + "\n",
    )
    feed = CsvReplayFeed(path)
    with caplog.at_level(logging.WARNING, logger="trading.market.feeds.replay"):
        ticks = first(feed, 100)
    assert [t.timestamp for t in ticks] == [1.0, 9.0]
    assert feed.skipped == 8
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 8
    assert f"{path} line 3: price 'abc' is not a number; row skipped" in lines
    assert any("line 7: timestamp goes back in time" in line for line in lines)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("time,sym,price\n1,BTCUSDT,1\n", "missing timestamp, symbol, volume; unknown time, sym"),
        (GOOD + "x,y,z,w,,\n", r"no valid data rows \(1 bad\)"),
        (GOOD, r"no valid data rows \(0 bad\)"),
    ],
)
def test_a_file_that_cannot_be_replayed_fails_before_anything_starts(tmp_path, text, message):
    with pytest.raises(FeedError, match=message):
        CsvReplayFeed(write(tmp_path, text))


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FeedError, match="cannot read .*nowhere.csv"):
        CsvReplayFeed(tmp_path / "nowhere.csv")


def test_a_written_file_replays_the_simulation(tmp_path):
    handle = io.StringIO()
    write_csv(SimulatedFeed(["BTCUSDT", "PEPEUSDT"], seed=5), handle, 120)
    path = write(tmp_path, handle.getvalue())
    assert first(CsvReplayFeed(path), 200) == first(
        SimulatedFeed(["BTCUSDT", "PEPEUSDT"], seed=5), 120
    )


def test_the_sample_file_is_what_write_sample_feed_makes(tmp_path):
    out = tmp_path / "sample.csv"
    call_command("write_sample_feed", "--out", str(out), stdout=io.StringIO())
    assert out.read_bytes() == SAMPLE.read_bytes()


@pytest.mark.parametrize("spec", ["", "simulated", "sim:x", "csv", "csv:"])
def test_an_unknown_feed_spec_is_refused(spec):
    with pytest.raises(FeedError, match="use one of: sim, csv:PATH"):
        open_feed(spec)
