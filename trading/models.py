"""Trading sessions, their strategy instances and each instance's history."""

import copy

from django.conf import settings
from django.db import models, router, transaction

from trading import actors
from trading.exceptions import TransitionConflict
from trading.instances import states
from trading.instances.querysets import (
    EDITABLE,
    REASON_LENGTH,
    StrategyInstanceQuerySet,
    checked_reason,
)
from trading.strategies import registry


class TradingSessionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one visibility rule: owners see their sessions, staff all."""
        return self if user.is_staff else self.filter(owner=user)


class TradingSession(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        CLOSED = "closed"

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_sessions"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TradingSessionQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} (#{self.pk})"


class StrategyInstance(models.Model):
    session = models.ForeignKey(TradingSession, on_delete=models.CASCADE, related_name="instances")
    strategy = models.CharField(max_length=64, validators=[registry.validate_name])
    symbol = models.CharField(max_length=30)
    state = models.CharField(max_length=20, choices=states.CHOICES, default=states.IDLE)
    previous_state = models.CharField(max_length=20, choices=states.CHOICES, blank=True, default="")
    version = models.PositiveBigIntegerField(default=1, editable=False)
    conditions = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    # The last state move's (its creation, until it moves): why, and who made
    # it (trading/actors.py); `state_changed_at` is when. Managed by the
    # write path, like the history row that records the same.
    reason = models.CharField(max_length=REASON_LENGTH, blank=True, editable=False)
    actor = models.CharField(max_length=actors.MAX_LENGTH, editable=False)

    objects = StrategyInstanceQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "state"])]

    def __str__(self):
        return f"{self.strategy} {self.symbol} #{self.pk} ({self.state})"

    @property
    def is_live(self):
        return states.is_live(self.state)

    # Write path -----------------------------------------------------------

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember_loaded()
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._remember_loaded()

    def _remember_loaded(self):
        self._loaded = {
            name: copy.deepcopy(self.__dict__[name]) for name in EDITABLE if name in self.__dict__
        }

    def save(self, *args, update_fields=None, reason="", **kwargs):  # noqa: DJ012
        """New rows are only ever inserted (an unsaved object given an
        existing id would otherwise make Django UPDATE that row, past the
        transition table, the version and the dashboard); an existing row is
        written through the queryset's conditional update, so a save that
        would move the state checks the transition table and can't race
        another writer."""
        if self._state.adding or self.pk is None or kwargs.get("force_insert"):
            registry.get(self.strategy)  # UnknownStrategy: the field's rule, for shells too
            self._begin(reason)
            with transaction.atomic(using=kwargs.get("using")):
                super().save(*args, update_fields=update_fields, **dict(kwargs, force_insert=True))
                StateTransition.of(self, created=True).save()
            self._remember_loaded()
            return
        loaded = getattr(self, "_loaded", {})
        names = (
            EDITABLE
            if update_fields is None
            else ["session_id" if name == "session" else name for name in update_fields]
        )
        changes = {
            name: getattr(self, name)
            for name in names
            if name in EDITABLE and (name not in loaded or loaded[name] != getattr(self, name))
        }
        if not changes:
            return
        self._write(changes, loaded.get("state", self.state), reason)

    def _begin(self, reason=""):
        """Called before a new row is inserted (by `save()` and
        `bulk_create()`): its creation is its first move, by the current
        actor whatever actor the object was given, for the reason it was
        given or "created"."""
        self.reason = checked_reason(reason or self.reason or "created")
        self.actor = actors.current()

    def delete(self, using=None, keep_parents=False):
        """Deletes the row as it is now, locked: a stale copy would announce
        its removal to a session it has left, or with a version its
        dashboards have already passed (and so ignore)."""
        using = using or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            self.refresh_from_db(using=using, from_queryset=type(self).objects.select_for_update())
            return super().delete(using=using, keep_parents=keep_parents)

    def transition_to(self, state, reason=""):
        """Move this instance to `state` (IllegalTransition, TransitionConflict)."""
        self._write({"state": state}, self.state, reason)
        return self

    def _write(self, changes, expected_state, reason):
        """Every write is conditional on the row still being in
        `expected_state` (the state this copy was read in): a stale copy
        raises instead of moving the state, or writing conditions meant for
        the old one."""
        if "state" in changes:
            states.check_transition(expected_state, changes["state"])
        rows = type(self).objects.filter(pk=self.pk, state=expected_state)
        updated = rows.apply(changes, reason=reason)
        if not updated:
            current = type(self).objects.filter(pk=self.pk).values_list("state", flat=True).first()
            raise TransitionConflict(
                f"instance {self.pk} is {current or 'gone'}, not {expected_state}: "
                "someone else changed it first; reload and retry"
            )
        self._copy_from(updated[0])

    def _copy_from(self, fresh):
        for field in self._meta.concrete_fields:
            setattr(self, field.attname, getattr(fresh, field.attname))
        self._remember_loaded()


class StateTransition(models.Model):
    """One recorded move of an instance, for the operator's history."""

    instance = models.ForeignKey(
        StrategyInstance, on_delete=models.CASCADE, related_name="transitions"
    )
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    version = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=REASON_LENGTH, blank=True)
    actor = models.CharField(max_length=actors.MAX_LENGTH)
    # The instance's `state_changed_at` for this move, to the microsecond.
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.from_state or '∅'} → {self.to_state}"

    @classmethod
    def of(cls, instance, created=False):
        """The history row of the move `instance` (as written) has just
        made; its creation has no state to come from."""
        return cls(
            instance=instance,
            from_state="" if created else instance.previous_state,
            to_state=instance.state,
            version=instance.version,
            reason=instance.reason,
            actor=instance.actor,
            changed_at=instance.state_changed_at,
        )
