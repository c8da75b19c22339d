"""Why and who: every state move records its reason, its actor and the
millisecond it happened, the instance keeps its last ones, and each entry
point names its own actor without its callers passing one
(trading/actors.py)."""

import subprocess
import sys

import pytest
from channels.db import database_sync_to_async as db
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import AsyncClient

from config.timestamps import iso
from tests.support import processes
from trading import actors
from trading.coordinator import Coordinator
from trading.instances import payloads
from trading.middleware import of_request
from trading.models import StateTransition, StrategyInstance

pytestmark = pytest.mark.django_db

ME = actors.os_user()


@pytest.fixture
def instance(trading_session):
    return StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="BTCUSDT"
    )


def last_move(instance):
    return StateTransition.objects.filter(instance=instance).order_by("-id").first()


def test_a_move_is_recorded_with_its_reason_actor_and_millisecond(instance):
    with actors.acting_as("system:test"):
        instance.transition_to("monitoring", reason="market open")
    move = last_move(instance)
    assert (move.from_state, move.to_state, move.reason, move.actor) == (
        "idle",
        "monitoring",
        "market open",
        "system:test",
    )
    instance.refresh_from_db()
    assert move.changed_at == instance.state_changed_at
    data = payloads.instance(instance)
    assert (data["reason"], data["actor"]) == ("market open", "system:test")
    assert data["changed_at"] == iso(move.changed_at) == data["state_changed_at"]
    assert data["changed_at"][-5:-1].startswith(".")  # ...:SS.mmmZ


def test_a_creation_is_its_first_move(trading_session):
    with actors.acting_as("system:test"):
        created = StrategyInstance.objects.create(
            session=trading_session, strategy="pump", symbol="BTCUSDT"
        )
        [bulk] = StrategyInstance.objects.bulk_create(
            [StrategyInstance(session=trading_session, strategy="pump", symbol="ETHUSDT")]
        )
    for instance in (created, bulk):
        instance.refresh_from_db()
        move = last_move(instance)
        assert (instance.reason, instance.actor) == ("created", "system:test")
        assert (move.from_state, move.reason, move.actor) == ("", "created", "system:test")
        assert move.changed_at == instance.state_changed_at


def test_an_edit_that_keeps_the_state_keeps_the_last_move(instance):
    with actors.acting_as("system:mover"):
        instance.transition_to("monitoring", reason="market open")
    with actors.acting_as("system:editor"):
        instance.params = {"size": 2}
        instance.save()
    instance.refresh_from_db()
    assert (instance.reason, instance.actor) == ("market open", "system:mover")


def test_acting_as_holds_for_its_block_only():
    outside = actors.current()
    with actors.acting_as("system:outer"):
        with actors.acting_as("shell:inner"):
            assert actors.current() == "shell:inner"
        assert actors.current() == "system:outer"
    assert actors.current() == outside


@pytest.mark.parametrize(
    "actor", ["", "root", "boss:root", "admin:", "admin:x\n", "system:" + "x" * 200, None]
)
def test_acting_as_refuses_what_is_not_an_actor(actor):
    with pytest.raises(ValueError, match="kind one of coordinator, admin"), actors.acting_as(actor):
        pass


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["manage.py", "shell"], f"shell:{ME}"),
        (["/srv/desk/manage.py", "transition", "5", "idle"], f"command:transition@{ME}"),
        (["/venv/bin/django-admin", "loaddata", "x.json"], f"command:loaddata@{ME}"),
        (["/venv/lib/site-packages/django/__main__.py", "shell"], f"shell:{ME}"),
        (["-c"], f"shell:{ME}"),
        ([""], f"shell:{ME}"),
        ([], f"shell:{ME}"),
        (["/venv/bin/daphne", "config.asgi:application"], "system:daphne"),
        (["/venv/lib/site-packages/pytest/__main__.py"], "system:pytest"),
    ],
)
def test_a_process_no_entry_point_named_is_named_by_how_it_started(argv, expected):
    assert actors.from_argv(argv) == expected


def test_the_coordinator_moves_as_the_strategy_that_decided(instance, scripted):
    feed = scripted([[("BTCUSDT", 100.0, 1.0)]])
    with actors.acting_as("shell:someone-else"):
        assert Coordinator(feed, speed=0).step(next(feed.batches())) == 1
    instance.refresh_from_db()
    assert (instance.state, instance.actor) == ("monitoring", "coordinator:pump")
    assert last_move(instance).actor == "coordinator:pump"


def test_an_ops_command_moves_as_itself_and_the_os_user(trading_session):
    call_command("start_instance", trading_session.pk, "--strategy", "pump", "--symbol", "BTCUSDT")
    instance = StrategyInstance.objects.get()
    call_command("transition", instance.pk, "monitoring", "--reason", "open")
    assert [(move.reason, move.actor) for move in instance.transitions.order_by("id")] == [
        ("created", f"command:start_instance@{ME}"),
        ("open", f"command:transition@{ME}"),
    ]


def test_the_seed_is_the_system(tmp_path):
    call_command("seed_demo", "--token-file", tmp_path / "demo.token", stdout=None)
    actors_seen = set(StrategyInstance.objects.values_list("actor", flat=True))
    assert actors_seen == {"system:seed_demo"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["manage.py shell -c", "python -c"])
def test_code_typed_into_a_shell_is_the_os_user(instance, how):
    code = (
        "from trading.models import StrategyInstance; "
        f"StrategyInstance.objects.get(pk={instance.pk}).transition_to('monitoring', 'by hand')"
    )
    if how == "python -c":
        command = [sys.executable, "-c", f"import django; django.setup(); {code}"]
    else:
        command = [sys.executable, "manage.py", "shell", "-c", code]
    done = subprocess.run(
        command, env=processes.env(), cwd=processes.ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (last_move(instance).reason, last_move(instance).actor) == ("by hand", f"shell:{ME}")


# Requests: the admin and the REST API ---------------------------------------


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def move_in_the_admin(client, instance):
    return client.post(
        "/admin/trading/strategyinstance/",
        {"action": "move_to_monitoring", "_selected_action": [instance.pk]},
    )


def test_an_admin_action_is_the_signed_in_user(client, root, instance):
    client.force_login(root)
    assert move_in_the_admin(client, instance).status_code == 302
    assert last_move(instance).actor == "admin:root"


@pytest.mark.django_db(transaction=True)
async def test_an_admin_action_served_over_asgi_is_the_signed_in_user(root, instance):
    """daphne runs the middleware's async side and the admin's view in a
    thread of its own: the actor crosses over with the context."""
    client = AsyncClient()
    await db(client.force_login)(root)
    reply = await client.post(
        "/admin/trading/strategyinstance/",
        {"action": "move_to_monitoring", "_selected_action": [instance.pk]},
    )
    assert reply.status_code == 302
    assert (await db(last_move)(instance)).actor == "admin:root"


def test_the_admin_shows_reason_actor_and_time_to_the_millisecond(client, root, instance):
    with actors.acting_as("command:transition@ops"):
        instance.transition_to("monitoring", reason="opened by test")
    client.force_login(root)
    page = client.get(f"/admin/trading/strategyinstance/{instance.pk}/change/").content.decode()
    move = last_move(instance)
    assert "opened by test" in page and "command:transition@ops" in page
    assert iso(move.changed_at) in page


@pytest.mark.urls("tests.trading.actor_api")
def test_a_rest_api_write_is_its_token_user(client, owner, token_for, instance):
    """DRF authenticates the token inside the view, after every middleware
    ran: the actor is read when the move is recorded."""
    reply = client.post(f"/move/{instance.pk}/", HTTP_AUTHORIZATION=f"Token {token_for(owner)}")
    assert reply.status_code == 204
    assert last_move(instance).actor == f"api:{owner.username}"


def test_an_anonymous_request_is_named_so(rf):
    """An empty name would fail the actor's pattern, and the write with it."""
    request = rf.get("/api/anything/")
    request.user = AnonymousUser()
    assert of_request(request) == "api:anonymous"
