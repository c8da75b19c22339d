"""The admin: lists, history inline, and state actions that never 500."""

import pytest

from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def instances(trading_session):
    return [
        StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol=s)
        for s in ("BTCUSDT", "ETHUSDT")
    ]


def test_changelist_filters_and_search(admin_client, instances):
    reply = admin_client.get(
        "/admin/trading/strategyinstance/", {"state__exact": "idle", "q": "ETH"}
    )
    assert reply.status_code == 200
    assert b"ETHUSDT" in reply.content and b"BTCUSDT" not in reply.content


def test_change_page_shows_the_transition_history(admin_client, instances):
    instance = instances[0]
    instance.transition_to("monitoring", reason="opened by test")
    reply = admin_client.get(f"/admin/trading/strategyinstance/{instance.pk}/change/")
    assert reply.status_code == 200
    assert b"opened by test" in reply.content


def test_action_moves_legal_ones_and_reports_illegal_ones(admin_client, instances):
    first, second = instances
    second.transition_to("monitoring")
    reply = admin_client.post(
        "/admin/trading/strategyinstance/",
        {"action": "move_to_signal_detected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert reply.status_code == 200
    text = reply.content.decode()
    assert "Moved 1 instance(s) to signal_detected" in text
    assert f"#{first.pk}: illegal transition idle -&gt; signal_detected" in text
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.state, second.state) == ("idle", "signal_detected")


def test_session_page_lists_its_instances(admin_client, trading_session, instances):
    reply = admin_client.get(f"/admin/trading/tradingsession/{trading_session.pk}/change/")
    assert reply.status_code == 200 and b"BTCUSDT" in reply.content
