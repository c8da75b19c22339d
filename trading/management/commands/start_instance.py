from django.core.management.base import CommandError

from streams import InvalidParams, params
from trading.instances import payloads
from trading.management.base import TradingCommand, describe_instance, get_session
from trading.models import StrategyInstance
from trading.strategies import registry


class Command(TradingCommand):
    help = "Start a strategy instance (state idle) in a session."

    def add_arguments(self, parser):
        parser.add_argument("session_id", help="the trading session's id")
        parser.add_argument(
            "--strategy",
            required=True,
            help=f"a registered strategy: {', '.join(registry.names())}",
        )
        parser.add_argument("--symbol", required=True, help="the symbol it trades, e.g. BTCUSDT")

    def run(self, session_id, strategy, symbol, **options):
        """An unknown --strategy is refused by the model itself
        (UnknownStrategy, listing the registered names), as in a shell."""
        session = get_session(session_id)
        try:
            symbol = params.symbol({"symbol": symbol})
        except InvalidParams as exc:
            raise CommandError(str(exc).replace("params.", "--")) from None
        instance = StrategyInstance.objects.create(
            session=session, strategy=strategy.strip(), symbol=symbol
        )
        return payloads.instance(instance)

    def describe(self, data):
        return describe_instance(data)
