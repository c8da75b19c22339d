"""Child process of test_concurrent_writers: hammers one instance with
transitions around the trading cycle and prints what it achieved."""

import json
import sys

import django

django.setup()

from trading.exceptions import TradingError  # noqa: E402
from trading.models import StrategyInstance  # noqa: E402

CYCLE = {
    "idle": "monitoring",
    "monitoring": "signal_detected",
    "signal_detected": "entering",
    "entering": "in_position",
    "in_position": "exiting",
    "exiting": "idle",
}


def main(instance_id, attempts):
    done = conflicts = 0
    for _ in range(attempts):
        instance = StrategyInstance.objects.get(pk=instance_id)
        try:
            instance.transition_to(CYCLE[instance.state], reason=f"worker {sys.argv[3]}")
            done += 1
        except TradingError:
            conflicts += 1
    print(json.dumps({"done": done, "conflicts": conflicts}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
