"""The coordinator drives instances through the state machine from the
feed, through the model's write path, and leaves them consistent."""

import threading

import pytest
from django.db.models import QuerySet

from trading.coordinator import Coordinator
from trading.instances import states
from trading.market import store as market_store
from trading.market.feeds.sim import SimulatedFeed
from trading.models import StateTransition, StrategyInstance, TradingSession

pytestmark = pytest.mark.django_db(transaction=True)

CYCLE = [
    "idle",
    "monitoring",
    "signal_detected",
    "entering",
    "in_position",
    "exiting",
    "monitoring",
]


def transitions(instance):
    return list(
        StateTransition.objects.filter(instance=instance)
        .order_by("id")
        .values_list("to_state", "reason")
    )


def run_until_cycle_done(coordinator, instance, limit=600):
    """Steps the feed until the instance went through exiting; returns
    what the instance looked like after each tick."""
    seen = []
    for number, batch in enumerate(coordinator.feed.batches()):
        coordinator.step(batch)
        instance.refresh_from_db()
        seen.append((instance.state, instance.conditions, dict(instance.params)))
        if instance.previous_state == states.EXITING or number >= limit:
            return seen
    return seen


def test_the_seeded_feed_drives_an_instance_through_a_full_trade(trading_session):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="SOLUSDT"
    )
    coordinator = Coordinator(SimulatedFeed(["SOLUSDT"], seed=3), [trading_session.pk], speed=0)
    seen = run_until_cycle_done(coordinator, instance)

    assert [state for state, _ in transitions(instance)] == CYCLE
    assert transitions(instance)[2:] == [
        (
            "signal_detected",
            "entry: pump_score 63.71 >= 60; change_1m_pct 1.685 >= 1.5; volume_ratio 6.1 >= 3",
        ),
        ("entering", "buy order placed at 152.972"),
        ("in_position", "filled at 153.514"),
        ("exiting", "exit: take_profit 2.199 >= 2"),
        ("monitoring", "closed at 157.247, pnl +2.43%"),
    ]
    assert len(seen) == 54
    by_state = {}
    for state, conditions, params in seen:
        by_state.setdefault(state, (conditions, params))
    signal_conditions, _ = by_state["signal_detected"]
    assert [c["name"] for c in signal_conditions] == ["pump_score", "change_1m_pct", "volume_ratio"]
    assert [c["value"] for c in signal_conditions] == pytest.approx([63.71, 1.685, 6.1], abs=0.005)
    assert all(c["met"] and c["progress"] == 1.0 for c in signal_conditions)
    held_conditions, held_params = by_state["in_position"]
    assert [c["name"] for c in held_conditions] == ["take_profit", "stop_loss", "timeout"]
    assert held_params["position"]["entry_price"] == 153.514
    assert not any(c["met"] for c in held_conditions)
    state, conditions, params = seen[-1]
    assert state == "monitoring" and "position" not in params
    assert [c["name"] for c in conditions] == ["pump_score", "change_1m_pct", "volume_ratio"]
    signals = market_store.store().recent(f"signals.{trading_session.pk}")
    assert [(s["instance_id"], s["side"]) for s in signals] == [
        (str(instance.pk), "sell"),
        (str(instance.pk), "buy"),
    ]
    assert signals[1]["price"] == 152.588  # the signal's tick; the order went out at the next
    assert (signals[0]["price"] / 153.514 - 1) * 100 == pytest.approx(2.199, abs=0.0005)
    assert signals[0]["reason"] == "exit: take_profit 2.199 >= 2"


def test_a_scripted_pump_enters_and_a_fall_stops_it_out(trading_session, scripted):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="XUSDT"
    )
    flat = [[("XUSDT", 100.0, 10.0)]] * 5
    feed = scripted(
        flat
        + [
            [("XUSDT", p, v)]
            for p, v in ((102.0, 50.0), (103.0, 10.0), (104.0, 10.0), (102.5, 10.0), (102.0, 10.0))
        ]
    )
    coordinator = Coordinator(feed, [trading_session.pk], speed=0)
    after = []
    for batch in feed.batches():
        coordinator.step(batch)
        instance.refresh_from_db()
        after.append((instance.state, instance.conditions))

    assert [state for state, _ in after] == [
        "monitoring",
        "monitoring",
        "monitoring",
        "monitoring",
        "monitoring",
        "signal_detected",
        "entering",
        "in_position",
        "exiting",
        "monitoring",
    ]
    assert after[5][1] == [
        {"name": "pump_score", "value": 70.0, "threshold": 60.0, "progress": 1.0, "met": True},
        {"name": "change_1m_pct", "value": 2.0, "threshold": 1.5, "progress": 1.0, "met": True},
        {"name": "volume_ratio", "value": 5.0, "threshold": 3.0, "progress": 1.0, "met": True},
    ]
    assert after[7][1] == [
        {"name": "take_profit", "value": 0.0, "threshold": 2.0, "progress": 0.0, "met": False},
        {"name": "stop_loss", "value": 0.0, "threshold": -1.0, "progress": 0.0, "met": False},
        {"name": "timeout", "value": 0.0, "threshold": 300.0, "progress": 0.0, "met": False},
    ]
    assert after[8][1] == [
        {"name": "take_profit", "value": -1.4423, "threshold": 2.0, "progress": 0.0, "met": False},
        {"name": "stop_loss", "value": -1.4423, "threshold": -1.0, "progress": 1.0, "met": True},
        {"name": "timeout", "value": 1.0, "threshold": 300.0, "progress": 0.003, "met": False},
    ]
    assert transitions(instance)[-2:] == [
        ("exiting", "exit: stop_loss -1.442 <= -1"),
        ("monitoring", "closed at 102, pnl -1.92%"),
    ]


def test_a_position_held_too_long_times_out(trading_session, scripted):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="XUSDT", params={"max_hold_seconds": 3}
    )
    instance.transition_to("monitoring")
    instance.transition_to("signal_detected")
    instance.transition_to("entering")
    feed = scripted([[("XUSDT", 100.0, 10.0)]] * 6)
    coordinator = Coordinator(feed, [trading_session.pk], speed=0)
    coordinator.run()
    assert [state for state, _ in transitions(instance)][-4:] == [
        "in_position",
        "exiting",
        "monitoring",
        "idle",
    ]
    assert transitions(instance)[-3][1] == "exit: timeout 3 >= 3"


def test_condition_progress_is_written_at_most_every_few_feed_seconds(trading_session, scripted):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="XUSDT"
    )
    feed = scripted([[("XUSDT", 100.0 + n / 10, 10.0)] for n in range(11)])
    coordinator = Coordinator(feed, [trading_session.pk], speed=0, conditions_every=2.0)
    for batch in feed.batches():
        coordinator.step(batch)
    instance.refresh_from_db()
    # t0: idle -> monitoring (version 2); then conditions at t2, t4, ... t10.
    assert instance.version == 2 + 5


def test_stopping_leaves_no_instance_halfway(trading_session):
    def make(*path, **fields):
        instance = StrategyInstance.objects.create(
            session=trading_session, strategy="pump", symbol="BTCUSDT", **fields
        )
        for state in path:
            instance.transition_to(state)
        return instance

    entering = make("monitoring", "signal_detected", "entering")
    position = {"side": "long", "entry_price": 100.0, "opened_at": 0.0}
    exiting = make(
        "monitoring",
        "signal_detected",
        "entering",
        "in_position",
        "exiting",
        params={"position": position},
    )
    holding = make(
        "monitoring", "signal_detected", "entering", "in_position", params={"position": position}
    )
    failed = make("error")
    counts = Coordinator(SimulatedFeed([]), [trading_session.pk]).settle()

    for instance in (entering, exiting, holding, failed):
        instance.refresh_from_db()
    assert (entering.state, exiting.state, holding.state, failed.state) == (
        "idle",
        "idle",
        "in_position",
        "error",
    )
    assert "position" not in exiting.params and holding.params["position"] == position
    assert entering.conditions == []
    assert counts == {"idle": 2, "in_position": 1, "error": 1}
    assert transitions(exiting)[-2:] == [
        ("monitoring", "coordinator stopping: position closed"),
        ("idle", "coordinator stopped"),
    ]


def test_a_run_stops_when_the_flag_is_set_and_says_so(trading_session):
    StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="BTCUSDT")
    stop = threading.Event()

    class StoppingFeed(SimulatedFeed):
        def batches(self):
            for number, batch in enumerate(super().batches()):
                if number == 3:
                    stop.set()
                yield batch

    result = Coordinator(StoppingFeed(["BTCUSDT"]), speed=0).run(stop=stop)
    assert (result.ticks, result.stopped, result.states) == (3, True, {"idle": 1})
    assert "stopped after 3 ticks" in result.summary()
    assert "every instance is in a consistent state" in result.summary()


def test_an_unknown_strategy_or_bad_params_put_the_instance_in_error(trading_session, scripted):
    unknown = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="XUSDT"
    )
    # A row whose strategy module has since been removed: written behind the
    # write path, which refuses unregistered names.
    QuerySet(StrategyInstance).filter(pk=unknown.pk).update(strategy="martingale")
    bad = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="XUSDT", params={"stop_loss_pct": "x"}
    )
    feed = scripted([[("XUSDT", 1.0, 1.0)]])
    Coordinator(feed, speed=0).step(next(feed.batches()))
    unknown.refresh_from_db()
    bad.refresh_from_db()
    assert (unknown.state, bad.state) == ("error", "error")
    assert transitions(unknown)[-1][1].startswith("unknown strategy 'martingale'")
    assert "param stop_loss_pct must be a number" in transitions(bad)[-1][1]


def test_paused_sessions_and_other_sessions_are_left_alone(
    trading_session, other_session, scripted
):
    mine = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="XUSDT")
    theirs = StrategyInstance.objects.create(session=other_session, strategy="pump", symbol="XUSDT")
    paused = TradingSession.objects.create(
        name="p", owner=trading_session.owner, status=TradingSession.Status.PAUSED
    )
    resting = StrategyInstance.objects.create(session=paused, strategy="pump", symbol="XUSDT")
    feed = scripted([[("XUSDT", 1.0, 1.0)]])
    Coordinator(feed, [trading_session.pk, paused.pk], speed=0).step(next(feed.batches()))
    assert [StrategyInstance.objects.get(pk=i.pk).state for i in (mine, theirs, resting)] == [
        "monitoring",
        "idle",
        "idle",
    ]


def test_a_change_made_meanwhile_is_not_overwritten(trading_session, scripted, monkeypatch):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="XUSDT"
    )
    coordinator = Coordinator(scripted([]), speed=0)
    stale = list(coordinator.runnable())
    StrategyInstance.objects.get(pk=instance.pk).transition_to("stopped", "operator")
    monkeypatch.setattr(coordinator, "runnable", lambda: stale)
    feed = scripted([[("XUSDT", 1.0, 1.0)]])
    assert coordinator.step(next(feed.batches())) == 0
    instance.refresh_from_db()
    assert instance.state == "stopped"
    assert [state for state, _ in transitions(instance)] == ["idle", "stopped"]
