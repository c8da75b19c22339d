"""Admin for sessions and instances. Every change made here goes through
the model's write path, so it reaches subscribed dashboards and is checked
against the transition table like any other."""

from django.contrib import admin, messages

from trading.exceptions import TradingError
from trading.instances import states
from trading.models import StateTransition, StrategyInstance, TradingSession


class StrategyInstanceInline(admin.TabularInline):
    model = StrategyInstance
    fields = ("strategy", "symbol", "state", "version", "updated_at")
    readonly_fields = ("state", "version", "updated_at")
    extra = 0
    show_change_link = True


@admin.register(TradingSession)
class TradingSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "status", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "owner__username")
    inlines = [StrategyInstanceInline]


class StateTransitionInline(admin.TabularInline):
    """An instance's history: every move with old, new, reason and when."""

    model = StateTransition
    fields = ("created_at", "from_state", "to_state", "version", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-id",)

    def has_add_permission(self, request, obj=None):
        return False


def _transition_action(target):
    def action(modeladmin, request, queryset):
        moved = 0
        for instance in queryset:
            try:
                instance.transition_to(target, reason=f"admin: {request.user}")
                moved += 1
            except TradingError as exc:
                modeladmin.message_user(request, f"#{instance.pk}: {exc}", messages.ERROR)
        if moved:
            modeladmin.message_user(
                request, f"Moved {moved} instance(s) to {target}.", messages.SUCCESS
            )

    action.__name__ = f"move_to_{target}"
    action.short_description = f"Move selected instances to “{target.replace('_', ' ')}”"
    return action


@admin.register(StrategyInstance)
class StrategyInstanceAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "session",
        "strategy",
        "symbol",
        "state",
        "previous_state",
        "version",
        "updated_at",
    )
    list_filter = ("state", "session", "strategy")
    search_fields = ("symbol", "strategy", "session__name")
    list_select_related = ("session",)
    readonly_fields = ("previous_state", "version", "created_at", "updated_at", "state_changed_at")
    inlines = [StateTransitionInline]
    actions = [_transition_action(target) for target in states.STATES]

    def get_readonly_fields(self, request, obj=None):
        # The state moves through the actions (checked, recorded); the
        # session of an existing instance is fixed.
        if obj is None:
            return self.readonly_fields
        return (*self.readonly_fields, "state", "session")
