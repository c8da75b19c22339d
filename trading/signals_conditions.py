"""The only producer of `condition_progress` events: an ORM signal handler.

The coordinator stores each instance's condition progress in its
`conditions` field; whoever writes it (the coordinator, the admin, a shell),
the change reaches the dashboard after its transaction commits, like
`state_machines` (trading/signals.py).
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from streams.publish import publish_on_commit
from trading.market_streams import CONDITION_PROGRESS
from trading.models import StrategyInstance


@receiver(post_save, sender=StrategyInstance, dispatch_uid="trading.announce_conditions")
def announce_conditions(sender, instance, created, update_fields, raw, using, **kwargs):
    if raw or not instance.is_live:
        return
    if created or update_fields is None or "conditions" in update_fields:
        publish_on_commit(
            CONDITION_PROGRESS,
            CONDITION_PROGRESS,
            {"instance_id": str(instance.pk), "conditions": instance.conditions or []},
            using=using,
            session_id=str(instance.session_id),
        )
