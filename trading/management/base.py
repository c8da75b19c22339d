"""What the trading ops commands share: `--json` output, clear errors, the
warning that an in-memory channel layer keeps their changes from the
dashboard, and the failure of a command whose events were lost on the way."""

import json

from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError

import streams
from trading import actors
from trading.exceptions import TradingError

# How long a command waits for its events to leave before it exits.
FLUSH_SECONDS = 10


class TradingCommand(BaseCommand):
    """Subclasses implement `run(**options)` returning a dict or a list of
    dicts, and `describe(result)` returning the human-readable line(s).
    Their moves are `command:<name>@<OS user>`, also when another program
    runs them with `call_command()`."""

    writes = True  # whether the command changes instances (and so warns)

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        return parser

    def handle(self, *args, **options):
        if self.writes and streams.unheard():
            self.stderr.write(
                "note: no REDIS_URL and no `manage.py serve` running here, so changes "
                "made here are saved but not pushed: a dashboard served by another "
                "process shows them when it resubscribes (e.g. on reload)."
            )
        name = type(self).__module__.rpartition(".")[2]
        try:
            with actors.acting_as(actors.command(name)):
                result = self.run(**options)
        except (TradingError, ObjectDoesNotExist, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(self.describe(result))
        self._check_delivered()

    @staticmethod
    def _check_delivered():
        """Waits for the events published so far and raises CommandError if
        some were lost. Only relayed events (streams/publishing/relay.py) can be lost
        unnoticed: their clients never see a gap, so the exit code is the
        one place left to say it. The changes themselves are saved."""
        if not streams.flush(FLUSH_SECONDS):
            raise CommandError(
                "saved, but the events of this change were still on their way to the "
                f"dashboard after {FLUSH_SECONDS} s; its clients may miss them until they "
                "resubscribe"
            )
        failures = streams.relay_failures()
        if failures:
            raise CommandError(
                f"saved, but {len(failures)} event(s) did not reach the dashboard "
                f"(its clients see them only when they resubscribe): {failures[0]}"
            )

    def run(self, **options):
        raise NotImplementedError

    def describe(self, result):
        raise NotImplementedError


def get_instance(instance_id):
    from trading.models import StrategyInstance

    try:
        return StrategyInstance.objects.get(pk=int(instance_id))
    except (ValueError, StrategyInstance.DoesNotExist):
        raise CommandError(f"no strategy instance with id {instance_id!r}") from None


def get_session(session_id):
    from trading.models import TradingSession

    try:
        return TradingSession.objects.get(pk=int(session_id))
    except (ValueError, TradingSession.DoesNotExist):
        raise CommandError(f"no trading session with id {session_id!r}") from None


def describe_instance(data):
    return (
        f"instance {data['id']}: {data['strategy']} {data['symbol']} "
        f"session {data['session_id']} state {data['state']} version {data['version']}"
    )
