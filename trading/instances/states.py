"""The strategy instance state machine: states (wire values) and the table
of legal transitions. One place, so the model, the admin actions and the
commands all refuse the same moves."""

from trading.exceptions import IllegalTransition

IDLE = "idle"
MONITORING = "monitoring"
SIGNAL_DETECTED = "signal_detected"
ENTERING = "entering"
IN_POSITION = "in_position"
EXITING = "exiting"
ERROR = "error"
STOPPED = "stopped"

STATES = (IDLE, MONITORING, SIGNAL_DETECTED, ENTERING, IN_POSITION, EXITING, ERROR, STOPPED)
LIVE = frozenset(STATES) - {STOPPED}
CHOICES = [(state, state.replace("_", " ")) for state in STATES]

_NEXT = {
    IDLE: {MONITORING},
    MONITORING: {SIGNAL_DETECTED, IDLE},
    SIGNAL_DETECTED: {ENTERING, MONITORING},
    ENTERING: {IN_POSITION, MONITORING},
    IN_POSITION: {EXITING},
    EXITING: {MONITORING, IDLE},
    ERROR: {IDLE},
    STOPPED: {IDLE},
}
# Any live state may fail, and anything may be stopped.
TRANSITIONS = {
    state: frozenset((targets | ({ERROR} if state in LIVE else set()) | {STOPPED}) - {state})
    for state, targets in _NEXT.items()
}


def is_live(state):
    return state in LIVE


def check_transition(current, target):
    if target not in TRANSITIONS:
        raise IllegalTransition(f"unknown state {target!r}; states are: {', '.join(STATES)}")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current]))
        raise IllegalTransition(
            f"illegal transition {current} -> {target}; from {current} allowed: {allowed}"
        )
