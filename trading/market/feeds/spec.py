"""Turns a command-line feed spec (`sim`, `csv:PATH`) into a feed."""

from trading.exceptions import FeedError
from trading.market.feeds.replay import CsvReplayFeed
from trading.market.feeds.sim import SimulatedFeed

SPECS = ("sim", "csv:PATH")


def open_feed(spec, *, symbols=(), seed=0):
    """`symbols` seed the simulation (a replay has its own); raises
    FeedError for an unknown spec or a file that can't be replayed."""
    kind, _, argument = (spec or "").partition(":")
    if kind == "sim" and not argument:
        return SimulatedFeed(symbols, seed=seed)
    if kind == "csv" and argument:
        return CsvReplayFeed(argument)
    raise FeedError(f"unknown feed {spec!r}; use one of: {', '.join(SPECS)}")
