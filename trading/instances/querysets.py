"""The only write path of strategy instances.

Every write (a model `save()`, `QuerySet.update()`, `bulk_create()`) ends in
`apply()`: it locks the rows, checks each state move against the transition
table, bumps `version` in the database, records each transition (why, and
who made it: trading/actors.py, asked here so no caller passes it), and sends
`post_save` for every row it changed (with the session a moved row left),
so the ORM signal handlers see bulk writes too and no write path can skip
the dashboard. What it cannot check (upserts, `bulk_update`, expressions
for the checked fields, the managed fields) it refuses.

`apply_many()` is the same path for a writer that decides a different change
per row (the coordinator's tick): a bounded number of statements for any
number of rows, each row written only if it still holds what the writer read.

Longer than most modules here on purpose: it is the one write path, and
every rule a write must keep (locks, transitions, versions, history,
announcements) is in this file so none can be bypassed by another.
"""

from dataclasses import dataclass, field

from django.db import connections, models, transaction
from django.db.models import Case, F, When
from django.db.models.signals import post_save
from django.utils import timezone

from trading import actors
from trading.exceptions import BulkWriteNotSupported, TradingError, TransitionConflict
from trading.instances.states import check_transition
from trading.strategies import registry

# Fields a user may change; everything else (the id, `version`, the
# timestamps, `previous_state`) is managed by the write path.
EDITABLE = ("session_id", "strategy", "symbol", "state", "conditions", "params")
# Fields each row is checked or announced against: apply() must know their
# new value, not an expression the database would work out.
CHECKED = frozenset({"session_id", "strategy", "state"})
# A move to another session takes two versions: the old session's
# `instance_removed` carries the first, the new session's `instance_added`
# the second (trading/instances/receivers.py). A client that hears both (staff watching
# every session) applies them in that order and ends with the row, where a
# shared version would make it drop the `instance_added` as a repeat.
SESSION_MOVE_VERSIONS = 2
# Rows per statement of apply_many(): a 500-row UPDATE takes ~50 ms on
# PostgreSQL (STACK-NOTES.md), short enough to hold the locks of a tick.
ROWS_PER_STATEMENT = 500
# Written by every write, whatever changed.
MANAGED = ("version", "updated_at")
# Written when a row's state moves: where from, when, why and by whom
# (trading/actors.py); its history row records the same.
MOVE_MANAGED = ("previous_state", "state_changed_at", "reason", "actor")
REASON_LENGTH = 200  # StrategyInstance.reason, StateTransition.reason


@dataclass
class Applied:
    """What `apply_many()` did: the rows it wrote (fresh, in pk order) and
    the rows it refused, each with the reason (TransitionConflict when the
    row changed meanwhile or is gone, IllegalTransition)."""

    updated: list = field(default_factory=list)
    refused: dict = field(default_factory=dict)


class StrategyInstanceQuerySet(models.QuerySet):
    def update(self, **changes):
        return len(self.apply(changes))

    def apply(self, changes, reason=""):
        """Write `changes` to every row of this queryset; returns the updated
        instances. Raises IllegalTransition (nothing saved) if any row may
        not move to `changes["state"]`."""
        changes = self._writable(changes)
        if not changes:
            return []
        reason = checked_reason(reason)
        target = changes.get("state")
        session = changes.get("session_id")
        now = timezone.now()
        with transaction.atomic(using=self.db):
            rows = list(self._locked().values_list("pk", "state", "session_id"))
            moving = [
                (pk, state) for pk, state, _ in rows if target is not None and state != target
            ]
            for _, state in moving:
                check_transition(state, target)
            moving_pks = {pk for pk, _ in moving}
            moved_from = {pk: old for pk, _, old in rows if session is not None and old != session}
            plain = models.QuerySet(self.model, using=self.db)
            common = dict(changes, version=F("version") + _version_step(moved_from), updated_at=now)
            if moving_pks:
                plain.filter(pk__in=moving_pks).update(
                    **common,
                    previous_state=F("state"),
                    state_changed_at=now,
                    reason=reason,
                    actor=actors.current(),
                )
            staying = [pk for pk, _, _ in rows if pk not in moving_pks]
            if staying:
                plain.filter(pk__in=staying).update(**common)
            updated = list(plain.filter(pk__in=[pk for pk, _, _ in rows]).order_by("pk"))
            self._record(updated, moving_pks)
            fields = frozenset(changes)
            self._announce(
                updated, dict.fromkeys((pk for pk, _, _ in rows), fields), moving_pks, moved_from
            )
        return updated

    def apply_many(self, changes_by_pk, expected_by_pk, reason_by_pk=None, actor_by_pk=None):
        """Writes a change of its own to each row (`changes_by_pk`: pk ->
        {field: value}), in one transaction and a few statements per
        ROWS_PER_STATEMENT rows, whatever their number. A row is written
        only if it still holds `expected_by_pk[pk]` ({field: value}, e.g. the
        state and version it was read with) and its move is in the
        transition table; the others are left as they are and reported in
        `Applied.refused`, so one row changed by an operator meanwhile costs
        that row, not the batch. A move's actor is `actor_by_pk[pk]`, else
        the current one. Called by the coordinator once per tick."""
        changes_by_pk = {pk: self._writable(changes) for pk, changes in changes_by_pk.items()}
        changes_by_pk = {pk: changes for pk, changes in changes_by_pk.items() if changes}
        reason_by_pk = {pk: checked_reason(reason) for pk, reason in (reason_by_pk or {}).items()}
        actor_by_pk = {pk: actors.checked(actor) for pk, actor in (actor_by_pk or {}).items()}
        default_actor = actors.current()
        applied = Applied()
        now = timezone.now()
        with transaction.atomic(using=self.db):
            rows = []
            for pks in _chunks(sorted(changes_by_pk)):
                rows += self._locked().filter(pk__in=pks)
            found = {row.pk for row in rows}
            for pk in changes_by_pk.keys() - found:
                applied.refused[pk] = _conflict(pk, None, expected_by_pk.get(pk, {}))
            written, moving_pks, moved_from = [], set(), {}
            for row in rows:
                try:
                    moves = _change_row(
                        row,
                        changes_by_pk[row.pk],
                        expected_by_pk.get(row.pk, {}),
                        _Why(
                            reason_by_pk.get(row.pk, ""),
                            actor_by_pk.get(row.pk, default_actor),
                            now,
                        ),
                    )
                except TradingError as exc:
                    applied.refused[row.pk] = exc
                    continue
                written.append(row)
                if moves.state:
                    moving_pks.add(row.pk)
                if moves.session is not None:
                    moved_from[row.pk] = moves.session
            if written:
                self._bulk_write(written, changes_by_pk, moving_pks)
                self._record(written, moving_pks)
                self._announce(
                    written,
                    {row.pk: frozenset(changes_by_pk[row.pk]) for row in written},
                    moving_pks,
                    moved_from,
                )
                applied.updated = written
        return applied

    def _bulk_write(self, rows, changes_by_pk, moving_pks):
        """Writes every field apply_many() set on the (locked, checked)
        rows: on PostgreSQL one `UPDATE ... FROM (VALUES ...)` per chunk,
        linear in the rows; elsewhere Django's bulk_update (a CASE WHEN per
        row and field, which costs seconds at 1,000 rows on PostgreSQL, in
        Django's compiler and in the database), past this queryset's own
        refusal of it."""
        names = set(MANAGED).union(*(changes_by_pk[row.pk] for row in rows))
        if moving_pks:
            names.update(MOVE_MANAGED)
        fields = [self.model._meta.get_field(name) for name in sorted(names)]
        connection = connections[self.db]
        if connection.vendor != "postgresql":
            plain = models.QuerySet(self.model, using=self.db)
            plain.bulk_update(rows, [field.name for field in fields], batch_size=ROWS_PER_STATEMENT)
            return
        columns = [self.model._meta.pk, *fields]
        quote = connection.ops.quote_name
        row_sql = (
            "(" + ", ".join(f"%s::{column.cast_db_type(connection)}" for column in columns) + ")"
        )
        assignments = ", ".join(
            f"{quote(field.column)} = v.{quote(field.column)}" for field in fields
        )
        names_sql = ", ".join(quote(column.column) for column in columns)
        pk = quote(self.model._meta.pk.column)
        with connection.cursor() as cursor:
            for chunk in _chunks(rows):
                cursor.execute(
                    f"UPDATE {quote(self.model._meta.db_table)} AS t SET {assignments} "
                    f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v({names_sql}) "
                    f"WHERE t.{pk} = v.{pk}",
                    [
                        column.get_db_prep_save(getattr(row, column.attname), connection)
                        for row in chunk
                        for column in columns
                    ],
                )

    def _announce(self, instances, fields_by_pk, moving_pks, moved_from):
        """post_save for each written row, naming only the fields that
        changed it, so the signal handlers announce what they should after
        the commit."""
        for instance in instances:
            post_save.send(
                sender=self.model,
                instance=instance,
                created=False,
                update_fields=fields_by_pk[instance.pk]
                - _unchanged(instance.pk, moving_pks, moved_from),
                raw=False,
                using=self.db,
                moved_from=moved_from.get(instance.pk),
            )

    def _writable(self, changes):
        """`changes` with `session` as `session_id` (the id, as the database
        holds it), after refusing what the write path manages, expressions
        for what it checks, and unregistered strategy names."""
        changes = dict(changes)
        if "session" in changes:
            session = changes.pop("session")
            changes["session_id"] = getattr(session, "pk", session)
        refused = changes.keys() - set(EDITABLE)
        if refused:
            raise ValueError(
                f"{sorted(refused)} are managed by the model or not fields; "
                f"writable: {', '.join(EDITABLE)}"
            )
        computed = sorted(
            name
            for name in CHECKED & changes.keys()
            if hasattr(changes[name], "resolve_expression")
        )
        if computed:
            raise ValueError(f"{computed} must be plain values: each row is checked against them")
        if changes.get("session_id") is not None:
            changes["session_id"] = self.model._meta.get_field("session").get_prep_value(
                changes["session_id"]
            )
        if "strategy" in changes:
            registry.get(changes["strategy"])  # UnknownStrategy, like the field's validator
        return changes

    def _locked(self):
        features = connections[self.db].features
        if features.has_select_for_update_of:
            return self.select_for_update(of=("self",)).order_by("pk")
        return self.select_for_update().order_by("pk")

    @property
    def _history(self):
        """StateTransition, reached through the model's `transitions`
        relation rather than imported: models.py imports this module."""
        return self.model._meta.get_field("transitions").related_model

    def _record(self, instances, moving_pks):
        StateTransition = self._history
        StateTransition.objects.using(self.db).bulk_create(
            (StateTransition.of(instance) for instance in instances if instance.pk in moving_pks),
            batch_size=ROWS_PER_STATEMENT,
        )

    def bulk_create(
        self, objs, batch_size=None, ignore_conflicts=False, update_conflicts=False, **kwargs
    ):
        """Creates, then announces each row like `save()` would. Upserts are
        refused: the database does not say which rows an upsert inserted and
        which it overwrote, so the overwritten ones would skip the
        transition table and the version bump, and be announced as new."""
        StateTransition = self._history

        if ignore_conflicts or update_conflicts:
            raise BulkWriteNotSupported(
                "StrategyInstance.bulk_create(ignore_conflicts/update_conflicts) "
                "would overwrite or skip rows past the transition checks; create "
                "new rows with bulk_create() and change existing ones with "
                "queryset.update(...) or instance.save()"
            )
        objs = list(objs)
        for obj in objs:
            registry.get(obj.strategy)  # UnknownStrategy, like save() of a new row
            obj._begin()
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, batch_size=batch_size, **kwargs)
            if any(obj.pk is None for obj in created):
                raise BulkWriteNotSupported(
                    "bulk_create could not read back primary keys on this "
                    "database, so the new instances cannot be announced"
                )
            StateTransition.objects.using(self.db).bulk_create(
                StateTransition.of(obj, created=True) for obj in created
            )
            for obj in created:
                obj._remember_loaded()
                post_save.send(
                    sender=self.model,
                    instance=obj,
                    created=True,
                    update_fields=None,
                    raw=False,
                    using=self.db,
                )
        return created

    def bulk_update(self, objs, fields, batch_size=None):
        raise BulkWriteNotSupported(
            "StrategyInstance.bulk_update would skip the dashboard and the "
            "transition checks; use queryset.update(...) or instance.save()"
        )


def _version_step(moved_from):
    if not moved_from:
        return 1
    return Case(When(pk__in=list(moved_from), then=SESSION_MOVE_VERSIONS), default=1)


def _unchanged(pk, moving_pks, moved_from):
    """The written fields that did not change this row: it was already in
    the target state, or already in the target session."""
    return {
        name
        for name, changed in (("state", moving_pks), ("session_id", moved_from))
        if pk not in changed
    }


@dataclass(frozen=True)
class _Moves:
    state: bool
    session: object  # the session the row left, or None


@dataclass(frozen=True)
class _Why:
    """What a row's move records besides the states."""

    reason: str
    actor: str
    at: object  # datetime


def checked_reason(reason):
    """ValueError (a command's error, an API's 400) rather than a database
    error, or a reason silently cut, past what the history keeps."""
    if len(reason) > REASON_LENGTH:
        raise ValueError(f"a reason is at most {REASON_LENGTH} characters, not {len(reason)}")
    return reason


def _change_row(row, changes, expected, why):
    """Applies `changes` to the locked `row` in memory, as apply() would in
    the database; raises (and leaves the row alone) when the row no longer
    holds `expected` or may not make the move."""
    if any(getattr(row, name) != value for name, value in expected.items()):
        raise _conflict(row.pk, row, expected)
    target = changes.get("state", row.state)
    moving = target != row.state
    if moving:
        check_transition(row.state, target)
    session = changes.get("session_id", row.session_id)
    left = row.session_id if session != row.session_id else None
    if moving:
        row.previous_state, row.state_changed_at = row.state, why.at
        row.reason, row.actor = why.reason, why.actor
    for name, value in changes.items():
        setattr(row, name, value)
    row.version += SESSION_MOVE_VERSIONS if left is not None else 1
    row.updated_at = why.at
    row._remember_loaded()
    return _Moves(moving, left)


def _conflict(pk, row, expected):
    """The refusal of a write to a row someone else changed first."""
    held = ", ".join(f"{name} {getattr(row, name)}" for name in expected) if row else "gone"
    wanted = ", ".join(f"{name} {value}" for name, value in expected.items())
    return TransitionConflict(
        f"instance {pk} is {held}, not {wanted}: someone else changed it first; reload and retry"
    )


def _chunks(items, size=ROWS_PER_STATEMENT):
    for start in range(0, len(items), size):
        yield items[start : start + size]
