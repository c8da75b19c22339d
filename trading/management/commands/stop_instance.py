from trading.instances import payloads
from trading.instances.states import STOPPED
from trading.management.base import TradingCommand, describe_instance, get_instance


class Command(TradingCommand):
    help = "Stop a strategy instance (it leaves every dashboard)."

    def add_arguments(self, parser):
        parser.add_argument("instance_id")
        parser.add_argument("--reason", default="manage.py stop_instance")

    def run(self, instance_id, reason, **options):
        instance = get_instance(instance_id).transition_to(STOPPED, reason=reason)
        return payloads.instance(instance)

    def describe(self, data):
        return describe_instance(data)
