"""Every state move records who made it (trading/actors.py), and each
instance keeps its last move's reason and actor so snapshots carry them.

Moves recorded before this migration have no known actor: they are
`system:migration`, and each instance takes the reason of its latest
recorded move.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

UNKNOWN_ACTOR = "system:migration"


def copy_last_reasons(apps, schema_editor):
    StrategyInstance = apps.get_model("trading", "StrategyInstance")
    StateTransition = apps.get_model("trading", "StateTransition")
    latest = StateTransition.objects.filter(instance=OuterRef("pk")).order_by("-id")
    StrategyInstance.objects.update(
        reason=Coalesce(Subquery(latest.values("reason")[:1]), Value(""))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0002_strategy_names_are_registered"),
    ]

    operations = [
        migrations.RenameField(
            model_name="statetransition", old_name="created_at", new_name="changed_at"
        ),
        migrations.AddField(
            model_name="statetransition",
            name="actor",
            field=models.CharField(default=UNKNOWN_ACTOR, max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="strategyinstance",
            name="actor",
            field=models.CharField(default=UNKNOWN_ACTOR, editable=False, max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="strategyinstance",
            name="reason",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.RunPython(copy_last_reasons, migrations.RunPython.noop),
    ]
