"""The instance state machine: the table, the race-free write path, history."""

import itertools
import json
import subprocess
import sys

import pytest
from django.db.models import QuerySet

from tests.support import processes
from trading.exceptions import IllegalTransition, TransitionConflict
from trading.instances import states
from trading.models import StateTransition, StrategyInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(trading_session):
    return StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="BTCUSDT"
    )


LEGAL = (
    [
        ("idle", "monitoring"),
        ("monitoring", "signal_detected"),
        ("monitoring", "idle"),
        ("signal_detected", "entering"),
        ("signal_detected", "monitoring"),
        ("entering", "in_position"),
        ("entering", "monitoring"),
        ("in_position", "exiting"),
        ("exiting", "monitoring"),
        ("exiting", "idle"),
        ("error", "idle"),
        ("stopped", "idle"),
    ]
    + [(live, "error") for live in states.LIVE if live != "error"]
    + [(state, "stopped") for state in states.STATES if state != "stopped"]
)


def test_the_table_is_exactly_the_documented_one():
    table = {(a, b) for a, targets in states.TRANSITIONS.items() for b in targets}
    assert table == set(LEGAL)


@pytest.mark.parametrize(
    "current, target",
    [
        ("idle", "in_position"),
        ("in_position", "idle"),
        ("stopped", "monitoring"),
        ("error", "monitoring"),
        ("stopped", "error"),
        ("idle", "idle"),
        ("idle", "flying"),
    ],
)
def test_illegal_transition_raises_and_saves_nothing(instance, current, target):
    # Set the starting state behind the write path's back (test setup only).
    QuerySet(StrategyInstance).filter(pk=instance.pk).update(state=current)
    instance.refresh_from_db()
    before = (instance.state, instance.version, StateTransition.objects.count())
    with pytest.raises(IllegalTransition, match="illegal transition|unknown state"):
        instance.transition_to(target)
    instance.refresh_from_db()
    assert (instance.state, instance.version, StateTransition.objects.count()) == before


def test_save_checks_the_table_too(instance):
    instance.state = "in_position"
    with pytest.raises(IllegalTransition):
        instance.save()
    assert StrategyInstance.objects.get(pk=instance.pk).state == "idle"


def test_transition_records_history_and_grows_version(instance):
    instance.transition_to("monitoring", reason="market open")
    instance.transition_to("signal_detected", reason="pump")
    assert instance.version == 3 and instance.previous_state == "monitoring"
    history = list(
        instance.transitions.order_by("id").values_list(
            "from_state", "to_state", "version", "reason"
        )
    )
    assert history == [
        ("", "idle", 1, "created"),
        ("idle", "monitoring", 2, "market open"),
        ("monitoring", "signal_detected", 3, "pump"),
    ]


def test_stale_copy_cannot_overwrite_a_newer_state(instance):
    stale = StrategyInstance.objects.get(pk=instance.pk)
    instance.transition_to("monitoring")
    with pytest.raises(TransitionConflict, match="someone else"):
        stale.transition_to("monitoring")
    stale.state = "stopped"
    with pytest.raises(TransitionConflict):
        stale.save()
    assert StrategyInstance.objects.get(pk=instance.pk).version == 2


def test_every_save_grows_version(instance):
    instance.params = {"size": 2}
    instance.save()
    instance.conditions = [{"name": "x", "value": 1, "threshold": 2, "progress": 0.5, "met": False}]
    instance.save()
    instance.save()  # nothing changed: nothing written
    assert StrategyInstance.objects.get(pk=instance.pk).version == 3


def test_managed_fields_cannot_be_bulk_written(instance):
    with pytest.raises(ValueError, match="managed"):
        StrategyInstance.objects.filter(pk=instance.pk).update(version=1)


def test_bulk_update_checks_each_row(trading_session, instance):
    other = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="ETH", state="in_position"
    )
    with pytest.raises(IllegalTransition):
        StrategyInstance.objects.filter(session=trading_session).update(state="monitoring")
    assert StrategyInstance.objects.get(pk=other.pk).version == 1
    assert StrategyInstance.objects.get(pk=instance.pk).state == "idle"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_in_separate_processes_never_lose_a_version(instance):
    """Four processes race around the cycle on one row: every success is one
    version, every recorded move is legal, and versions are gapless."""
    worker = [sys.executable, "-m", "tests.trading.transition_worker", str(instance.pk), "40"]
    children = [
        subprocess.Popen(
            [*worker, str(n)],
            env=processes.env(),
            cwd=processes.ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    done = sum(r["done"] for r in results)
    assert done > 0 and all(r["done"] + r["conflicts"] == 40 for r in results)
    instance.refresh_from_db()
    assert instance.version == 1 + done
    moves = list(
        instance.transitions.exclude(reason="created")
        .order_by("version")
        .values_list("from_state", "to_state", "version")
    )
    assert [v for _, _, v in moves] == list(range(2, done + 2))
    for (_a, b, _), (c, _, _) in itertools.pairwise(moves):
        assert b == c, "each move starts where the previous one ended"
    assert all(b in states.TRANSITIONS[a] for a, b, _ in moves)


def test_a_stale_copy_cannot_write_conditions_for_a_state_it_no_longer_has(instance):
    coordinator_copy = StrategyInstance.objects.get(pk=instance.pk)
    instance.transition_to("monitoring")
    instance.transition_to("error", reason="operator")
    coordinator_copy.conditions = [
        {"name": "x", "value": 1, "threshold": 2, "progress": 0.5, "met": False}
    ]
    with pytest.raises(TransitionConflict):
        coordinator_copy.save(update_fields=["conditions"])
    instance.refresh_from_db()
    assert (instance.state, instance.version, instance.conditions) == ("error", 3, [])
