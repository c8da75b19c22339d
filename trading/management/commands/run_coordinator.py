"""`manage.py run_coordinator`: the trading coordinator as its own process."""

from dataclasses import asdict

from trading.management import coordinator_options
from trading.management.base import TradingCommand
from trading.management.process import stop_on_signals


class Command(TradingCommand):
    help = (
        "Runs the live strategy instances of trading sessions against a market "
        "feed and publishes the market streams. Stops cleanly on Ctrl-C or "
        "SIGTERM, leaving every instance in a consistent state. Needs REDIS_URL "
        "to reach a dashboard served by another process."
    )

    def add_arguments(self, parser):
        coordinator_options.add_arguments(parser)

    def run(self, ticks=None, **options):
        coordinator = coordinator_options.build_coordinator(options)
        self.stderr.write(coordinator_options.describe(coordinator) + " (Ctrl-C stops)")
        with stop_on_signals() as stop:
            result = coordinator.run(ticks=ticks, stop=stop)
        return dict(asdict(result), summary=result.summary())

    def describe(self, result):
        return self.style.SUCCESS(result["summary"])
