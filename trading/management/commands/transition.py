from trading.instances import payloads, states
from trading.management.base import TradingCommand, describe_instance, get_instance


class Command(TradingCommand):
    help = "Move a strategy instance to another state (checked against the transition table)."

    def add_arguments(self, parser):
        parser.add_argument("instance_id", help="the instance's id (list_instances shows them)")
        parser.add_argument(
            "state",
            help=f"the state to move to, one of: {', '.join(states.STATES)} (the transition "
            "table decides which moves are allowed from the instance's state)",
        )
        parser.add_argument("--reason", default="manage.py transition")

    def run(self, instance_id, state, reason, **options):
        instance = get_instance(instance_id).transition_to(state, reason=reason)
        return payloads.instance(instance)

    def describe(self, data):
        return describe_instance(data)
