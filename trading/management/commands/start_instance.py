from trading import payloads
from trading.management.base import TradingCommand, describe_instance, get_session
from trading.models import StrategyInstance
from streams.params import symbol as parse_symbol
from streams.errors import InvalidParams
from django.core.management.base import CommandError


class Command(TradingCommand):
    help = "Start a strategy instance (state idle) in a session."

    def add_arguments(self, parser):
        parser.add_argument("session_id")
        parser.add_argument("--strategy", required=True)
        parser.add_argument("--symbol", required=True)

    def run(self, session_id, strategy, symbol, **options):
        session = get_session(session_id)
        try:
            symbol = parse_symbol({"symbol": symbol})
        except InvalidParams as exc:
            raise CommandError(str(exc).replace("params.", "--")) from None
        if not strategy.strip():
            raise CommandError("--strategy must not be empty")
        instance = StrategyInstance.objects.create(
            session=session, strategy=strategy.strip(), symbol=symbol
        )
        return payloads.instance(instance)

    def describe(self, data):
        return describe_instance(data)
