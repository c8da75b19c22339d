"""A read-only admin for frontend log entries: they are evidence, so nobody
edits or adds them; prune_logs removes old ones.

Filters only on what the server decides (level, user, time): `source`,
`url` and `message` are written by anonymous clients, and a filter on one
of them put a link per distinct value on staff's page (two POSTs: 100
attacker-chosen links). They are searchable instead."""

from django.contrib import admin

from logs.models import FrontendLogEntry


@admin.register(FrontendLogEntry)
class FrontendLogEntryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "level", "source", "short_message", "count", "user")
    list_filter = (
        "level",
        ("user", admin.RelatedOnlyFieldListFilter),
        "received_at",
    )
    search_fields = ("message", "url", "source", "user__username")
    date_hierarchy = "received_at"
    list_select_related = ("user",)

    @admin.display(description="message")
    def short_message(self, entry):
        return entry.message if len(entry.message) <= 120 else entry.message[:119] + "…"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
