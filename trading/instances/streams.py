"""Registers trading's streams with the streams registry."""

from streams import Forbidden, InvalidParams, Stream, register
from streams import params as p
from trading import messages
from trading.instances import payloads, states
from trading.models import StrategyInstance, TradingSession


def session_params(raw):
    p.check_keys(raw, {"session_id"})
    return {"session_id": p.session_id(raw, required=False)}


def session_scope(params):
    return f"session.{params['session_id']}" if params["session_id"] else "all"


def session_routes(keys):
    return [f"session.{keys['session_id']}", "all"]


def authorize_session(user, params):
    """Owners see their sessions, staff see all (and may omit session_id)."""
    session_id = params["session_id"]
    if session_id is None:
        if not user.is_staff:
            raise InvalidParams("params.session_id is required (only staff may omit it)")
        return
    sessions = TradingSession.objects.filter(pk=session_id)
    if not sessions.visible_to(user).exists():
        if not sessions.exists():
            raise InvalidParams(f"unknown session {session_id}")
        raise Forbidden(f"you may not see session {session_id}")


def authorize_session_many(users, params):
    """`authorize_session` for many users in one query."""
    if params["session_id"] is None:
        return {user.pk for user in users if user.is_staff}
    rows = TradingSession.objects.filter(pk=params["session_id"])
    owner = rows.values_list("owner_id", flat=True).first()
    if owner is None:
        return set()
    return {user.pk for user in users if user.is_staff or user.pk == owner}


def live_instances(params):
    rows = StrategyInstance.objects.filter(state__in=states.LIVE)
    if params["session_id"]:
        rows = rows.filter(session_id=params["session_id"])
    return rows.order_by("id")


def state_machines_snapshot(params):
    rows = live_instances(params).values(*payloads.FIELDS)
    return {"instances": [payloads.from_row(row) for row in rows]}


register(
    Stream(
        name="state_machines",
        parse_params=session_params,
        scope=session_scope,
        routes=session_routes,
        authorize=authorize_session,
        authorize_many=authorize_session_many,
        snapshot=state_machines_snapshot,
        events={
            "instance_added": messages.Instance,
            "state_change": messages.Instance,
            "instance_removed": messages.InstanceRemoved,
        },
        snapshot_model=messages.InstancesSnapshot,
        session_scoped=True,
    )
)
