"""Attacks on the ORM write paths of strategy instances: every way a shell,
the admin, a command or a bulk call can write a row must be checked
(transition table, registered strategy) and announced to the dashboard."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.db.models import F

from streams.publishing import publish
from trading import actors
from trading.exceptions import BulkWriteNotSupported, IllegalTransition, UnknownStrategy
from trading.instances import states
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def announce(monkeypatch, django_capture_on_commit_callbacks):
    """`announce(write)` runs `write()` in a transaction and returns the
    `state_machines` events it published on commit, as (type, session_id,
    data)."""

    def run(write):
        events = []

        def record(stream, type_, data, **keys):
            if stream == "state_machines":
                events.append((type_, keys["session_id"], data))

        monkeypatch.setattr(publish, "publish", record)
        with django_capture_on_commit_callbacks(execute=True):
            write()
        return events

    return run


class Dashboard:
    """One subscription's table under the strictest client rule the brief
    allows: any message whose version is not above the highest seen for
    that instance is ignored (removals included)."""

    def __init__(self, session_id=None):
        self.session_id = session_id  # None: staff watching every session
        rows = StrategyInstance.objects.filter(state__in=states.LIVE)
        if session_id:
            rows = rows.filter(session_id=session_id)
        self.rows = {str(row.pk): row.session_id for row in rows}
        self.versions = {str(row.pk): row.version for row in rows}

    def apply(self, events):
        for type_, session_id, data in events:
            if self.session_id and session_id != str(self.session_id):
                continue
            if data["version"] <= self.versions.get(data["id"], 0):
                continue
            self.versions[data["id"]] = data["version"]
            if type_ == "instance_removed":
                self.rows.pop(data["id"], None)
            else:
                self.rows[data["id"]] = int(data["session_id"])
        return self.rows


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def add_in_the_admin(admin_client, session, **fields):
    """Posts the admin's add form for an instance of `session`."""
    return admin_client.post(
        "/admin/trading/strategyinstance/add/",
        {
            "session": session.pk,
            "strategy": "pump",
            "symbol": "BTCUSDT",
            "state": "idle",
            "conditions": "[]",
            "params": "{}",
            "transitions-TOTAL_FORMS": "0",
            "transitions-INITIAL_FORMS": "0",
            **fields,
        },
    )


# Threat 3: strategy names the registry doesn't know ----------------------


def test_start_instance_refuses_an_unknown_strategy(trading_session):
    """Threat: `manage.py start_instance 1 --strategy nosuch` was accepted
    (exit 0), leaving an instance no coordinator can run."""
    with pytest.raises(CommandError, match="unknown strategy 'nosuch'; known: pump"):
        call_command(
            "start_instance", trading_session.pk, "--strategy", "nosuch", "--symbol", "BTCUSDT"
        )
    assert not StrategyInstance.objects.exists()


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda session: StrategyInstance.objects.create(
                session=session, strategy="nosuch", symbol="BTCUSDT"
            ),
            id="create",
        ),
        pytest.param(
            lambda session: StrategyInstance.objects.bulk_create(
                [StrategyInstance(session=session, strategy="nosuch", symbol="BTCUSDT")]
            ),
            id="bulk_create",
        ),
        pytest.param(
            lambda session: StrategyInstance.objects.get_or_create(
                session=session, strategy="nosuch", symbol="BTCUSDT"
            ),
            id="get_or_create",
        ),
    ],
)
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
    reply = add_in_the_admin(admin_client, trading_session, strategy="nosuch")
    assert reply.status_code == 200
    assert "unknown strategy &#x27;nosuch&#x27;; known: pump" in reply.content.decode()
    assert not StrategyInstance.objects.exists()


# Threat 2: upserts ---------------------------------------------------------


@pytest.mark.parametrize(
    "conflicts",
    [
        {"update_conflicts": True, "unique_fields": ["id"], "update_fields": ["state"]},
        {"ignore_conflicts": True},
    ],
)
def test_bulk_create_upserts_are_refused(trading_session, conflicts):
    """Threat: `bulk_create(..., update_conflicts=True)` overwrote an existing
    row with any state (no transition check, no version bump, announced as
    new); `ignore_conflicts=True` announced rows that were never inserted."""
    instance = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="A")
    clash = StrategyInstance(
        pk=instance.pk, session=trading_session, strategy="pump", symbol="A", state="in_position"
    )
    with pytest.raises(BulkWriteNotSupported, match=r"queryset.update\(...\) or instance.save"):
        StrategyInstance.objects.bulk_create([clash], **conflicts)
    instance.refresh_from_db()
    assert (instance.state, instance.version) == ("idle", 1)


# Threat 1: moving an instance to another session --------------------------


@pytest.fixture
def moved(trading_session, other_session):
    """A live instance of `trading_session`, and the dashboards of both
    sessions and of staff (every session), each holding their snapshot."""
    instance = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="A")
    instance.transition_to("monitoring")
    return instance, [Dashboard(trading_session.pk), Dashboard(other_session.pk), Dashboard()]


def _filter_update_id(instance, session):
    StrategyInstance.objects.filter(pk=instance.pk).update(session_id=session.pk)


def _filter_update_object(instance, session):
    StrategyInstance.objects.filter(pk=instance.pk).update(session=session)


def _save(instance, session):
    instance.session = session
    instance.save()


def _save_update_fields(instance, session):
    instance.session = session
    instance.save(update_fields=["session"])


@pytest.mark.parametrize(
    "write", [_filter_update_id, _filter_update_object, _save, _save_update_fields]
)
def test_moving_an_instance_between_sessions_is_announced_to_both(
    moved, trading_session, other_session, announce, write
):
    """Threat: `update(session_id=other)` (or `instance.session = other;
    instance.save()`) announced nothing: the old session kept a ghost row,
    the new one never heard of the instance. Staff watching every session
    get both events and must end with the row."""
    instance, (old, new, every) = moved
    events = announce(lambda: write(instance, other_session))
    assert [(type_, int(session)) for type_, session, _ in events] == [
        ("instance_removed", trading_session.pk),
        ("instance_added", other_session.pk),
    ]
    assert [data["version"] for _, _, data in events] == [3, 4]
    assert StrategyInstance.objects.get(pk=instance.pk).version == 4
    assert old.apply(events) == {}
    assert new.apply(events) == {str(instance.pk): other_session.pk}
    assert every.apply(events) == {str(instance.pk): other_session.pk}


def test_moving_and_stopping_at_once_only_removes(moved, other_session, announce):
    """Threat: a move that also stops the instance must not add it to the
    new session's table."""
    instance, dashboards = moved
    events = announce(
        lambda: StrategyInstance.objects.filter(pk=instance.pk).update(
            session=other_session, state="stopped"
        )
    )
    assert [type_ for type_, _, _ in events] == ["instance_removed"]
    assert [dashboard.apply(events) for dashboard in dashboards] == [{}, {}, {}]


def test_moving_a_stopped_instance_announces_nothing(moved, other_session, announce):
    """A stopped instance is on no dashboard: moving it changes none."""
    instance, _ = moved
    instance.transition_to("stopped")
    assert announce(lambda: _filter_update_id(instance, other_session)) == []


def test_a_session_given_as_an_expression_is_refused(moved):
    """Threat: `update(session_id=F(...))` or `update(state=F(...))` leaves
    the database to work out a value apply() must check and announce."""
    instance, _ = moved
    with pytest.raises(ValueError, match="plain values"):
        StrategyInstance.objects.filter(pk=instance.pk).update(session_id=F("session_id") + 1)
    with pytest.raises(ValueError, match="plain values"):
        StrategyInstance.objects.filter(pk=instance.pk).update(state=F("previous_state"))


def test_the_id_cannot_be_rewritten(moved):
    """Threat: `update(id=...)` renumbered a row under the dashboard: the
    old id stayed as a ghost, the new one was never announced."""
    instance, _ = moved
    with pytest.raises(ValueError, match="managed by the model"):
        StrategyInstance.objects.filter(pk=instance.pk).update(id=instance.pk + 100)
    assert StrategyInstance.objects.filter(pk=instance.pk).exists()


# Threat 4: other ORM paths --------------------------------------------------


def test_an_unsaved_object_with_a_taken_id_cannot_overwrite_the_row(moved, trading_session):
    """Threat: `StrategyInstance(pk=<existing>, state="in_position", ...).save()`
    made Django UPDATE the existing row: no transition check, the version
    reset to 1, nothing announced."""
    instance, _ = moved
    forged = StrategyInstance(
        pk=instance.pk,
        session=trading_session,
        strategy="pump",
        symbol="A",
        state="in_position",
        created_at=instance.created_at,
        state_changed_at=instance.created_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()
    instance.refresh_from_db()
    assert (instance.state, instance.version) == ("monitoring", 2)


def test_deleting_a_stale_copy_removes_the_row_where_it_is_now(moved, other_session, announce):
    """Threat: `instance.delete()` on a copy loaded before the instance moved
    announced `instance_removed` to the old session with the old version:
    the new session kept a ghost row. (And a removal repeating the row's
    version is dropped by a client that ignores versions not above the
    highest seen: a delete takes the next one.)"""
    instance, (_, new, _every) = moved
    stale = StrategyInstance.objects.get(pk=instance.pk)
    _filter_update_id(instance, other_session)
    new.apply(
        [
            (
                "instance_added",
                str(other_session.pk),
                {"id": str(instance.pk), "session_id": str(other_session.pk), "version": 4},
            )
        ]
    )
    events = announce(stale.delete)
    assert [(type_, int(session), data["version"]) for type_, session, data in events] == [
        ("instance_removed", other_session.pk, 5)
    ]
    assert new.apply(events) == {} and not StrategyInstance.objects.exists()


def test_update_or_create_goes_through_the_write_path(moved, announce):
    """Checked, already safe: `update_or_create` of an existing row saves
    through the write path, so it checks the table and is announced."""
    instance, _ = moved
    with pytest.raises(IllegalTransition):
        StrategyInstance.objects.update_or_create(pk=instance.pk, defaults={"state": "exiting"})
    events = announce(
        lambda: StrategyInstance.objects.update_or_create(
            pk=instance.pk, defaults={"state": "signal_detected"}
        )
    )
    assert [(type_, data["version"]) for type_, _, data in events] == [("state_change", 3)]


def test_select_for_update_then_update_goes_through_the_write_path(moved, announce):
    """Checked, already safe: `select_for_update().update(state=...)` is the
    same queryset, so it checks the table and is announced."""
    instance, _ = moved
    rows = StrategyInstance.objects.select_for_update().filter(pk=instance.pk)
    with pytest.raises(IllegalTransition), transaction.atomic():
        rows.update(state="exiting")
    events = announce(lambda: rows.update(state="stopped"))
    assert [(type_, data["version"]) for type_, _, data in events] == [("instance_removed", 3)]


def test_deleting_instances_in_bulk_removes_each_live_one(moved, trading_session, announce):
    """Threat: `QuerySet.delete()` announced each live row with the version
    its dashboards already hold, which a client ignoring versions not above
    the highest seen drops. (Per-row post_delete itself is safe: a model
    with delete receivers is never fast-deleted.)"""
    instance, _ = moved
    StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="B", state="stopped"
    )
    events = announce(lambda: StrategyInstance.objects.all().delete())
    assert [(type_, data["id"], data["version"]) for type_, _, data in events] == [
        ("instance_removed", str(instance.pk), 3)
    ]


# Threat 5: a writer claiming someone else's name ---------------------------


def test_the_admin_add_form_cannot_name_another_actor(admin_client, trading_session):
    """Threat: a crafted form carrying `actor` and `reason` recorded the
    creation as someone else's."""
    add_in_the_admin(admin_client, trading_session, actor="coordinator:pump", reason="not me")
    instance = StrategyInstance.objects.get()
    move = instance.transitions.get()
    assert (instance.actor, instance.reason) == ("admin:root", "created")
    assert (move.actor, move.reason) == ("admin:root", "created")


def test_a_shell_cannot_write_the_actor_or_reason_of_a_row(moved):
    """Threat: `update(actor=...)`, or a field set before `save()`, rewrote
    who made the last move."""
    instance, _ = moved
    before = (instance.actor, instance.reason)
    for field in ("actor", "reason"):
        with pytest.raises(ValueError, match="managed"):
            StrategyInstance.objects.filter(pk=instance.pk).update(**{field: "admin:boss"})
    instance.actor, instance.reason = "admin:boss", "forged"
    instance.save()
    instance.refresh_from_db()
    assert (instance.actor, instance.reason) == before


def test_a_new_object_cannot_bring_its_own_actor(trading_session):
    """Threat: `create(actor="admin:boss")` stored the name it was given."""
    with actors.acting_as("shell:mallory"):
        instance = StrategyInstance.objects.create(
            session=trading_session, strategy="pump", symbol="A", actor="admin:boss"
        )
    instance.refresh_from_db()
    assert instance.actor == instance.transitions.get().actor == "shell:mallory"
