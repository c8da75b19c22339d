from trading.instances import payloads
from trading.management.base import TradingCommand, describe_instance, get_instance


class Command(TradingCommand):
    help = "Move a strategy instance to another state (checked against the transition table)."

    def add_arguments(self, parser):
        parser.add_argument("instance_id")
        parser.add_argument("state")
        parser.add_argument("--reason", default="manage.py transition")

    def run(self, instance_id, state, reason, **options):
        instance = get_instance(instance_id).transition_to(state, reason=reason)
        return payloads.instance(instance)

    def describe(self, data):
        return describe_instance(data)
