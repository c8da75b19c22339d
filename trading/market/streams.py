"""Registers the market-side streams of PROTOCOL.md ("The other streams").

`pump_indicators`, `market_data` and `liquidations` are market-wide: any
signed-in user may watch them, for every symbol or one (`symbol` param).
`condition_progress` and `signals` belong to one trading session, scoped
and authorized exactly like `state_machines`. The coordinator publishes
all of them except `condition_progress`, which the ORM signal handlers
produce from each instance's `conditions` (trading/instances/receivers.py).
"""

from django.conf import settings

from streams import Forbidden, Stream, register
from streams import params as p
from trading import messages
from trading.instances.streams import (
    authorize_session,
    authorize_session_many,
    live_instances,
    session_scope,
)
from trading.market import store as market_store

CONDITION_PROGRESS = "condition_progress"
PUMP_INDICATORS = "pump_indicators"
LIQUIDATIONS = "liquidations"
MARKET_DATA = "market_data"
SIGNALS = "signals"


def signals_key(session_id):
    """The market store's list of one session's recent signals."""
    return f"{SIGNALS}.{session_id}"


# Market-wide streams ----------------------------------------------------


def symbol_params(raw):
    p.check_keys(raw, {"symbol"})
    return {"symbol": p.symbol(raw)}


def symbol_scope(params):
    return f"symbol.{params['symbol']}" if params["symbol"] else "all"


def symbol_routes(keys):
    return [f"symbol.{keys['symbol']}", "all"]


def authorize_signed_in(user, params):
    """Market data is the same for everybody who may use the dashboard."""
    if not user.is_authenticated:
        raise Forbidden("sign in to watch market streams")


def conflate_window():
    return settings.STREAMS_CONFLATE_SECONDS


def pump_indicators_snapshot(params):
    return {"indicators": market_store.store().latest(PUMP_INDICATORS, params["symbol"])}


def market_data_snapshot(params):
    return {"tickers": market_store.store().latest(MARKET_DATA, params["symbol"])}


def liquidations_snapshot(params):
    recent = market_store.store().recent(LIQUIDATIONS)
    return {"liquidations": [item for item in recent if params["symbol"] in (None, item["symbol"])]}


# Session streams ----------------------------------------------------------


def one_session_params(raw):
    p.check_keys(raw, {"session_id"})
    return {"session_id": p.session_id(raw, required=True)}


def one_session_routes(keys):
    return [session_scope(keys)]


def condition_progress_snapshot(params):
    rows = live_instances(params).values("id", "symbol", "strategy", "conditions")
    return {
        "instances": [
            {
                "instance_id": str(row["id"]),
                "symbol": row["symbol"],
                "strategy": row["strategy"],
                "conditions": row["conditions"] or [],
            }
            for row in rows
        ]
    }


def signals_snapshot(params):
    return {"signals": market_store.store().recent(signals_key(params["session_id"]))}


for name, snapshot, conflate, events, snapshot_model in (
    (
        PUMP_INDICATORS,
        pump_indicators_snapshot,
        conflate_window,
        {"indicators": messages.Indicators},
        messages.IndicatorsSnapshot,
    ),
    (
        MARKET_DATA,
        market_data_snapshot,
        conflate_window,
        {"ticker": messages.Ticker},
        messages.TickersSnapshot,
    ),
    (
        LIQUIDATIONS,
        liquidations_snapshot,
        0.0,
        {"liquidation": messages.Liquidation},
        messages.LiquidationsSnapshot,
    ),
):
    register(
        Stream(
            name=name,
            parse_params=symbol_params,
            scope=symbol_scope,
            routes=symbol_routes,
            authorize=authorize_signed_in,
            snapshot=snapshot,
            events=events,
            snapshot_model=snapshot_model,
            conflate=conflate,
        )
    )

for name, snapshot, events, snapshot_model in (
    (
        CONDITION_PROGRESS,
        condition_progress_snapshot,
        {"condition_progress": messages.ConditionProgress},
        messages.ConditionsSnapshot,
    ),
    (SIGNALS, signals_snapshot, {"signal": messages.Signal}, messages.SignalsSnapshot),
):
    register(
        Stream(
            name=name,
            parse_params=one_session_params,
            scope=session_scope,
            routes=one_session_routes,
            authorize=authorize_session,
            authorize_many=authorize_session_many,
            snapshot=snapshot,
            events=events,
            snapshot_model=snapshot_model,
            session_scoped=True,
        )
    )
