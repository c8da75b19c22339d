"""The ops commands: readable line or --json, clear errors, non-zero exit."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support import processes
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db


def run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def run_json(*args):
    return json.loads(run(*args, "--json"))


def test_create_session_start_transition_stop_and_list(owner):
    session = run_json("create_session", "Morning", "--owner", owner.username)
    assert session["name"] == "Morning" and session["owner"] == owner.username
    instance = run_json(
        "start_instance", session["id"], "--strategy", "pump", "--symbol", "btcusdt"
    )
    assert instance["state"] == "idle" and instance["version"] == 1
    assert instance["symbol"] == "BTCUSDT"
    moved = run_json("transition", instance["id"], "monitoring", "--reason", "open")
    assert (moved["state"], moved["version"]) == ("monitoring", 2)
    stopped = run_json("stop_instance", instance["id"])
    assert (stopped["state"], stopped["version"]) == ("stopped", 3)
    listed = run_json("list_instances", "--session", session["id"])
    assert [(i["id"], i["state"]) for i in listed["instances"]] == [(instance["id"], "stopped")]
    history = StrategyInstance.objects.get(pk=instance["id"]).transitions.values_list(
        "reason", flat=True
    )
    assert "open" in history


def test_human_output_is_one_readable_line(trading_session):
    line = run("start_instance", trading_session.pk, "--strategy", "pump", "--symbol", "ETHUSDT")
    assert line.startswith("instance ") and "ETHUSDT" in line and "idle" in line


@pytest.mark.parametrize(
    "args, message",
    [
        (("create_session", "x", "--owner", "nobody"), "no user named 'nobody'"),
        (
            ("start_instance", "999", "--strategy", "pump", "--symbol", "BTC"),
            "no trading session with id '999'",
        ),
        (("transition", "999", "idle"), "no strategy instance with id '999'"),
        (("transition", "abc", "idle"), "no strategy instance with id 'abc'"),
        (("stop_instance", "999"), "no strategy instance"),
        (("list_instances", "--session", "999"), "no trading session"),
    ],
)
def test_unknown_ids_and_users_are_clear_errors(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_illegal_transition_is_a_clear_error(trading_session):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="BTC"
    )
    with pytest.raises(CommandError, match="illegal transition idle -> in_position"):
        run("transition", instance.pk, "in_position")
    with pytest.raises(CommandError, match="unknown state 'flying'"):
        run("transition", instance.pk, "flying")


def test_a_reason_longer_than_the_history_keeps_is_a_clear_error(trading_session):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="BTC"
    )
    with pytest.raises(CommandError, match="a reason is at most 200 characters, not 201"):
        run("transition", instance.pk, "monitoring", "--reason", "x" * 201)
    assert StrategyInstance.objects.get(pk=instance.pk).state == "idle"


def test_bad_symbol_is_a_clear_error(trading_session):
    with pytest.raises(CommandError, match="symbol"):
        run("start_instance", trading_session.pk, "--strategy", "pump", "--symbol", "BTC/USDT!")


@pytest.mark.django_db(transaction=True)
def test_a_failing_command_exits_non_zero_with_its_message(trading_session):
    result = processes.manage("transition", "424242", "idle")
    assert result.returncode != 0
    assert "no strategy instance with id '424242'" in result.stderr
    assert "Traceback" not in result.stderr
