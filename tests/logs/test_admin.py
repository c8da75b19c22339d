"""The admin of frontend log entries: filters and search, read-only."""

import pytest
from django.urls import reverse

from logs.models import FrontendLogEntry

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:logs_frontendlogentry_changelist")


@pytest.fixture
def entries(owner):
    return [
        FrontendLogEntry.objects.create(
            level="ERROR", message="chart exploded", source="dashboard", user=owner
        ),
        FrontendLogEntry.objects.create(level="WARNING", message="socket slow", source="ws"),
    ]


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"level__exact": "ERROR"}, "chart exploded", "socket slow"),
        ({"source": "ws"}, "socket slow", "chart exploded"),
        ({"q": "exploded"}, "chart exploded", "socket slow"),
        ({"q": "olivia"}, "chart exploded", "socket slow"),
    ],
)
def test_the_list_filters_and_searches(admin_client, entries, query, shown, hidden):
    response = admin_client.get(CHANGELIST, query)

    assert response.status_code == 200
    assert shown in response.text
    assert hidden not in response.text


def test_the_list_filters_by_user_and_date(admin_client, entries, owner):
    response = admin_client.get(CHANGELIST, {"user__id__exact": owner.pk})
    assert "chart exploded" in response.text and "socket slow" not in response.text

    today = entries[0].received_at.date()
    response = admin_client.get(
        CHANGELIST, {"received_at__year": today.year, "received_at__month": today.month}
    )
    assert "chart exploded" in response.text and "socket slow" in response.text


def test_entries_cannot_be_added_changed_or_deleted(admin_client, entries):
    entry = entries[0]
    change = reverse("admin:logs_frontendlogentry_change", args=[entry.pk])

    assert admin_client.get(reverse("admin:logs_frontendlogentry_add")).status_code == 403
    assert admin_client.get(change).status_code == 200  # view only
    assert admin_client.post(change, {"level": "WARNING", "message": "edited"}).status_code == 403
    assert (
        admin_client.get(reverse("admin:logs_frontendlogentry_delete", args=[entry.pk])).status_code
        == 403
    )
    entry.refresh_from_db()
    assert (entry.level, entry.message) == ("ERROR", "chart exploded")
