"""The ORM signal receivers of trading, one per model and signal: the only
producers of `state_machines` and `condition_progress` events, and the
announcement of ownership changes to open sockets (streams.connection.access).

A change made anywhere (coordinator, admin, manage.py, shell, bulk update)
reaches the dashboard the same way, and only after its transaction commits.
"""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from streams import publish_on_commit, recheck_user
from trading.instances import payloads, states
from trading.market.streams import CONDITION_PROGRESS
from trading.models import StrategyInstance, TradingSession

STREAM = "state_machines"
# Fields the state table shows: a change to one of them is announced even
# when the state stays (conditions go to their own stream).
SHOWN = frozenset({"strategy", "symbol"})


def _publish(type_, data, session_id, using):
    publish_on_commit(STREAM, type_, data, using=using, session_id=str(session_id))


@receiver(post_save, sender=StrategyInstance, dispatch_uid="trading.announce_save")
def announce_save(sender, instance, created, update_fields, raw, using, moved_from=None, **kwargs):
    """`moved_from` is the old session of a row that `apply()` moved to
    another one: its subscribers see the row leave, the new session's see
    it arrive, in that order."""
    if raw:
        return
    _announce_state(instance, created, update_fields, using, moved_from)
    _announce_conditions(instance, created, update_fields, using)


def _announce_conditions(instance, created, update_fields, using):
    """The coordinator stores condition progress in `conditions`; whoever
    writes it, the change reaches the dashboard like a state does."""
    if instance.is_live and (created or update_fields is None or "conditions" in update_fields):
        publish_on_commit(
            CONDITION_PROGRESS,
            CONDITION_PROGRESS,
            {"instance_id": str(instance.pk), "conditions": instance.conditions or []},
            using=using,
            session_id=str(instance.session_id),
        )


def _announce_state(instance, created, update_fields, using, moved_from):
    fields = frozenset(update_fields or ())
    live = instance.is_live
    if created:
        was_live = False
    elif "state" in fields:
        was_live = states.is_live(instance.previous_state)
    else:
        was_live = live
    if moved_from is not None:
        if was_live:
            removed = payloads.moved_out(instance, moved_from)
            _publish("instance_removed", removed, moved_from, using)
        if live:
            _publish("instance_added", payloads.instance(instance), instance.session_id, using)
    elif was_live and live:
        if "state" in fields or fields & SHOWN:
            _publish("state_change", payloads.instance(instance), instance.session_id, using)
    elif was_live:
        _publish("instance_removed", payloads.removed(instance), instance.session_id, using)
    elif live:
        _publish("instance_added", payloads.instance(instance), instance.session_id, using)


@receiver(post_delete, sender=StrategyInstance, dispatch_uid="trading.announce_delete")
def announce_delete(sender, instance, using, **kwargs):
    if instance.is_live:
        _publish("instance_removed", payloads.deleted(instance), instance.session_id, using)


@receiver(pre_save, sender=TradingSession, dispatch_uid="trading.recheck_previous_owner")
def recheck_previous_owner(sender, instance, raw, using, **kwargs):
    """A session handed to another owner is lost to the previous one: their
    open sockets check their subscriptions again once this commits."""
    if raw or instance.pk is None:
        return
    rows = sender.objects.using(using).filter(pk=instance.pk)
    previous = rows.values_list("owner_id", flat=True).first()
    if previous is not None and previous != instance.owner_id:
        recheck_user(previous)


@receiver(post_delete, sender=TradingSession, dispatch_uid="trading.recheck_deleted_session")
def recheck_owner_of_deleted_session(sender, instance, **kwargs):
    recheck_user(instance.owner_id)
