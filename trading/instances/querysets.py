"""The only write path of strategy instances.

Every write (a model `save()`, `QuerySet.update()`, `bulk_create()`) ends in
`apply()`: it locks the rows, checks each state move against the transition
table, bumps `version` in the database, records each transition, and sends
`post_save` for every row it changed (with the session a moved row left),
so the ORM signal handlers see bulk writes too and no write path can skip
the dashboard. What it cannot check (upserts, `bulk_update`, expressions
for the checked fields, the managed fields) it refuses.
"""

from django.db import connections, models, transaction
from django.db.models import Case, F, When
from django.db.models.signals import post_save
from django.utils import timezone

from trading.exceptions import BulkWriteNotSupported
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
            moved_from = {
                pk: old for pk, _, old in rows if session is not None and old != session
            }
            plain = models.QuerySet(self.model, using=self.db)
            common = dict(changes, version=F("version") + _version_step(moved_from), updated_at=now)
            if moving_pks:
                plain.filter(pk__in=moving_pks).update(
                    **common, previous_state=F("state"), state_changed_at=now
                )
            staying = [pk for pk, _, _ in rows if pk not in moving_pks]
            if staying:
                plain.filter(pk__in=staying).update(**common)
            updated = list(plain.filter(pk__in=[pk for pk, _, _ in rows]).order_by("pk"))
            self._record(updated, moving_pks, reason, now)
            fields = frozenset(changes)
            for instance in updated:
                post_save.send(
                    sender=self.model,
                    instance=instance,
                    created=False,
                    update_fields=fields - _unchanged(instance.pk, moving_pks, moved_from),
                    raw=False,
                    using=self.db,
                    moved_from=moved_from.get(instance.pk),
                )
        return updated

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
        computed = sorted(name for name in CHECKED & changes.keys()
                          if hasattr(changes[name], "resolve_expression"))
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

    def _record(self, instances, moving_pks, reason, now):
        from trading.models import StateTransition

        StateTransition.objects.using(self.db).bulk_create(
            StateTransition(
                instance=instance,
                from_state=instance.previous_state,
                to_state=instance.state,
                version=instance.version,
                reason=reason,
                created_at=now,
            )
            for instance in instances
            if instance.pk in moving_pks
        )

    def bulk_create(self, objs, batch_size=None, ignore_conflicts=False,
                    update_conflicts=False, **kwargs):
        """Creates, then announces each row like `save()` would. Upserts are
        refused: the database does not say which rows an upsert inserted and
        which it overwrote, so the overwritten ones would skip the
        transition table and the version bump, and be announced as new."""
        from trading.models import StateTransition

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
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, batch_size=batch_size, **kwargs)
            if any(obj.pk is None for obj in created):
                raise BulkWriteNotSupported(
                    "bulk_create could not read back primary keys on this "
                    "database, so the new instances cannot be announced"
                )
            StateTransition.objects.using(self.db).bulk_create(
                StateTransition.for_creation(obj) for obj in created
            )
            for obj in created:
                obj._remember_loaded()
                post_save.send(
                    sender=self.model, instance=obj, created=True,
                    update_fields=None, raw=False, using=self.db,
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
        name for name, changed in (("state", moving_pks), ("session_id", moved_from))
        if pk not in changed
    }
