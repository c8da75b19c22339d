"""The coordinator's command-line options, shared by `run_coordinator` and
`serve --coordinator`, and the checks that turn them into a Coordinator."""

import random

from django.conf import settings
from django.core.management.base import CommandError

from trading.coordinator import Coordinator
from trading.exceptions import FeedError
from trading.market.feeds.spec import SPECS, open_feed
from trading.models import TradingSession


def _non_negative(text):
    value = float(text)
    if value < 0:
        raise ValueError(text)
    return value


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


_non_negative.__name__ = "number >= 0"
_positive_int.__name__ = "integer > 0"


def add_arguments(parser):
    group = parser.add_argument_group("coordinator")
    group.add_argument(
        "--session",
        dest="sessions",
        action="extend",
        nargs="+",
        type=int,
        default=[],
        metavar="ID",
        help="trading session(s) to run (default: every active session)",
    )
    group.add_argument(
        "--feed", default="sim", help=f"market feed: {' or '.join(SPECS)} (default: sim)"
    )
    group.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the simulated feed (default: a random one, printed)",
    )
    group.add_argument(
        "--speed",
        type=_non_negative,
        default=1.0,
        help="feed time per wall-clock second: 1 real time, 10 faster, 0 as fast as possible",
    )
    group.add_argument(
        "--ticks", type=_positive_int, default=None, help="stop after N ticks (default: run on)"
    )
    group.add_argument(
        "--conditions-every",
        type=_non_negative,
        default=2.0,
        metavar="SECONDS",
        help="write condition progress at most this often, in feed seconds, "
        "unless a condition flips (default: 2)",
    )


def build_coordinator(options):
    """Checks the options (CommandError with a clear message) and returns
    the coordinator."""
    sessions = sorted(set(options["sessions"]))
    known = set(TradingSession.objects.filter(pk__in=sessions).values_list("pk", flat=True))
    missing = [str(pk) for pk in sessions if pk not in known]
    if missing:
        raise CommandError(f"unknown trading session(s): {', '.join(missing)}")
    seed = options["seed"] if options["seed"] is not None else random.randrange(1_000_000)
    try:
        feed = open_feed(options["feed"], symbols=settings.TRADING_SIM_SYMBOLS, seed=seed)
    except FeedError as exc:
        raise CommandError(str(exc)) from None
    return Coordinator(
        feed, sessions, speed=options["speed"], conditions_every=options["conditions_every"]
    )


def describe(coordinator):
    sessions = ", ".join(map(str, coordinator.session_ids)) or "every active session"
    speed = "as fast as possible" if not coordinator.speed else f"{coordinator.speed:g}x"
    return f"coordinating {sessions} on {coordinator.feed.describe()}, {speed}"
