"""The migration that added actors keeps what was recorded before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("trading", "0002_strategy_names_are_registered")]
AFTER = [("trading", "0003_moves_record_reason_and_actor")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_moves_recorded_before_actors_keep_their_reasons_and_times(owner):
    old = migrate(BEFORE)
    session = old.get_model("trading", "TradingSession").objects.create(
        name="old", owner_id=owner.pk
    )
    instance = old.get_model("trading", "StrategyInstance").objects.create(
        session_id=session.pk, strategy="pump", symbol="BTCUSDT", state="monitoring"
    )
    history = old.get_model("trading", "StateTransition").objects
    history.create(
        instance_id=instance.pk,
        to_state="idle",
        version=1,
        reason="created",
        created_at=instance.created_at,
    )
    history.create(
        instance_id=instance.pk,
        from_state="idle",
        to_state="monitoring",
        version=2,
        reason="market open",
        created_at=instance.state_changed_at,
    )
    try:
        new = migrate(AFTER)
        moved = new.get_model("trading", "StrategyInstance").objects.get(pk=instance.pk)
        assert (moved.reason, moved.actor) == ("market open", "system:migration")
        rows = new.get_model("trading", "StateTransition").objects.order_by("id")
        assert [(row.reason, row.actor, row.changed_at) for row in rows] == [
            ("created", "system:migration", instance.created_at),
            ("market open", "system:migration", instance.state_changed_at),
        ]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
