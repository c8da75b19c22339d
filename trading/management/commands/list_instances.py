from trading.instances import payloads
from trading.management.base import TradingCommand, describe_instance, get_session
from trading.models import StrategyInstance


class Command(TradingCommand):
    help = "List strategy instances, all or of one session."
    writes = False

    def add_arguments(self, parser):
        parser.add_argument("--session", dest="session_id")

    def run(self, session_id=None, **options):
        rows = StrategyInstance.objects.order_by("id")
        if session_id is not None:
            rows = rows.filter(session=get_session(session_id))
        return {"instances": [payloads.instance(instance) for instance in rows]}

    def describe(self, data):
        if not data["instances"]:
            return "no instances"
        return "\n".join(describe_instance(row) for row in data["instances"])
