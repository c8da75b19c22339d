"""`manage.py write_sample_feed`: (re)makes the sample CSV market file.

The file in trading/data/ is this command's output, so the repository
never ships data it can't regenerate.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trading.market.feeds.replay import write_csv
from trading.market.feeds.sim import SimulatedFeed

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "sample_feed.csv"


class Command(BaseCommand):
    help = (
        "Writes a replayable CSV market file (timestamp,symbol,price,volume,"
        "side,liquidation_qty) from the simulated feed; run_coordinator "
        "--feed csv:PATH replays it."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--out", default=str(DEFAULT_PATH), help=f"file (default: {DEFAULT_PATH})"
        )
        parser.add_argument("--seed", type=int, default=7, help="simulation seed (default: 7)")
        parser.add_argument(
            "--ticks", type=int, default=600, help="one-second ticks (default: 600)"
        )
        parser.add_argument(
            "--symbols",
            nargs="+",
            default=None,
            help="symbols (default: settings.TRADING_SIM_SYMBOLS)",
        )

    def handle(self, *args, **options):
        if options["ticks"] <= 0:
            raise CommandError("--ticks must be above 0")
        symbols = options["symbols"] or settings.TRADING_SIM_SYMBOLS
        rows = self.write(Path(options["out"]), symbols, options["seed"], options["ticks"])
        self.stdout.write(
            f"wrote {rows} rows ({options['ticks']} ticks of {len(symbols)} symbols) "
            f"to {options['out']}"
        )

    def write(self, path, symbols, seed, ticks):
        try:
            with path.open("w", encoding="utf-8", newline="") as handle:
                return write_csv(SimulatedFeed(symbols, seed=seed), handle, ticks)
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
