"""Attacks on the ORM write paths of strategy instances: every way a shell,
the admin, a command or a bulk call can write a row must be checked
(transition table, registered strategy) and announced to the dashboard."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from trading.exceptions import BulkWriteNotSupported, UnknownStrategy
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))
    return client


# Threat 3: strategy names the registry doesn't know ----------------------


def test_start_instance_refuses_an_unknown_strategy(trading_session):
    """Threat: `manage.py start_instance 1 --strategy nosuch` was accepted
    (exit 0), leaving an instance no coordinator can run."""
    with pytest.raises(CommandError, match="unknown strategy 'nosuch'; known: pump"):
        call_command("start_instance", trading_session.pk, "--strategy", "nosuch",
                     "--symbol", "BTCUSDT")
    assert not StrategyInstance.objects.exists()


@pytest.mark.parametrize("write", [
    pytest.param(lambda session: StrategyInstance.objects.create(
        session=session, strategy="nosuch", symbol="BTCUSDT"), id="create"),
    pytest.param(lambda session: StrategyInstance.objects.bulk_create([StrategyInstance(
        session=session, strategy="nosuch", symbol="BTCUSDT")]), id="bulk_create"),
    pytest.param(lambda session: StrategyInstance.objects.get_or_create(
        session=session, strategy="nosuch", symbol="BTCUSDT"), id="get_or_create"),
])
def test_a_shell_cannot_create_an_unknown_strategy(trading_session, write):
    """Threat: a shell (or any code) creating a row with an unregistered
    strategy name skips the form and the command."""
    with pytest.raises(UnknownStrategy, match="known: pump"):
        write(trading_session)
    assert not StrategyInstance.objects.exists()


def test_a_shell_cannot_rename_to_an_unknown_strategy(trading_session):
    """Threat: `update(strategy=...)` or `save()` of an existing row renames
    it to a strategy nothing can run."""
    instance = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="A")
    with pytest.raises(UnknownStrategy):
        StrategyInstance.objects.filter(pk=instance.pk).update(strategy="nosuch")
    instance.strategy = "nosuch"
    with pytest.raises(UnknownStrategy):
        instance.save()
    assert StrategyInstance.objects.get(pk=instance.pk).strategy == "pump"


def test_full_clean_names_the_known_strategies(trading_session):
    """Threat: model validation (forms, full_clean) accepted any name."""
    instance = StrategyInstance(session=trading_session, strategy="nosuch", symbol="A")
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    assert caught.value.message_dict["strategy"] == ["unknown strategy 'nosuch'; known: pump"]


def test_admin_add_form_shows_the_unknown_strategy_as_a_field_error(admin_client, trading_session):
    """Threat: the admin's add form saved any strategy name."""
    reply = admin_client.post("/admin/trading/strategyinstance/add/", {
        "session": trading_session.pk, "strategy": "nosuch", "symbol": "BTCUSDT",
        "state": "idle", "conditions": "[]", "params": "{}",
        "transitions-TOTAL_FORMS": "0", "transitions-INITIAL_FORMS": "0",
    })
    assert reply.status_code == 200
    assert "unknown strategy &#x27;nosuch&#x27;; known: pump" in reply.content.decode()
    assert not StrategyInstance.objects.exists()


# Threat 2: upserts ---------------------------------------------------------


@pytest.mark.parametrize("conflicts", [
    {"update_conflicts": True, "unique_fields": ["id"], "update_fields": ["state"]},
    {"ignore_conflicts": True},
])
def test_bulk_create_upserts_are_refused(trading_session, conflicts):
    """Threat: `bulk_create(..., update_conflicts=True)` overwrote an existing
    row with any state (no transition check, no version bump, announced as
    new); `ignore_conflicts=True` announced rows that were never inserted."""
    instance = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="A")
    clash = StrategyInstance(pk=instance.pk, session=trading_session, strategy="pump",
                             symbol="A", state="in_position")
    with pytest.raises(BulkWriteNotSupported, match=r"queryset.update\(...\) or instance.save"):
        StrategyInstance.objects.bulk_create([clash], **conflicts)
    instance.refresh_from_db()
    assert (instance.state, instance.version) == ("idle", 1)
