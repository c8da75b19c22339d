"""Admin for sessions and instances. Every change made here goes through
the model's write path, so it reaches subscribed dashboards and is checked
against the transition table like any other, and its moves are recorded as
the signed-in user's (`admin:<username>`, trading/middleware.py)."""

from django.contrib import admin, messages

from config.timestamps import iso
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


def _moment(name, description):
    """A column of the `name` time as the wire writes it (ISO 8601 UTC, to
    the millisecond): Django's default format stops at the minute, so three
    moves in one minute all read "7:36 p.m."."""

    @admin.display(description=f"{description} (UTC)", ordering=name)
    def column(self, obj):
        return iso(getattr(obj, name))

    return column


class StateTransitionInline(admin.TabularInline):
    """An instance's history: every move with old, new, reason, who and when."""

    model = StateTransition
    fields = ("changed", "from_state", "to_state", "version", "reason", "actor")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-id",)

    changed = _moment("changed_at", "changed at")

    def has_add_permission(self, request, obj=None):
        return False


def _transition_action(target):
    def action(modeladmin, request, queryset):
        moved = 0
        for instance in queryset:
            try:
                instance.transition_to(target, reason="admin action")
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
        "changed",
        "actor",
        "reason",
    )
    list_filter = ("state", "session", "strategy")
    search_fields = ("symbol", "strategy", "session__name", "actor")
    list_select_related = ("session",)
    readonly_fields = (
        "previous_state",
        "changed",
        "reason",
        "actor",
        "version",
        "created",
        "updated",
    )
    inlines = [StateTransitionInline]
    actions = [_transition_action(target) for target in states.STATES]
    changed = _moment("state_changed_at", "state changed at")
    created = _moment("created_at", "created at")
    updated = _moment("updated_at", "updated at")

    def get_readonly_fields(self, request, obj=None):
        # The state moves through the actions (checked, recorded); the
        # session of an existing instance is fixed.
        if obj is None:
            return self.readonly_fields
        return (*self.readonly_fields, "state", "session")
