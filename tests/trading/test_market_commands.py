"""The coordinator's ops commands: small methods, clear errors, clean stops."""

import asyncio
import io
import json
import os
import signal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support import processes
from tests.support.live import free_port
from trading.management.commands import tail_stream
from trading.management.process import stop_on_signals
from trading.models import StrategyInstance, TradingSession

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_seed_demo_is_idempotent_and_prints_what_to_use(tmp_path):
    token_file = tmp_path / "demo.token"
    first, warning = run("seed_demo", "--token-file", token_file)
    assert "password: " in first and "(unchanged" not in first
    assert ("no REDIS_URL" in warning) == (not settings.REDIS_URL)
    again = json.loads(run("seed_demo", "--json", "--token-file", token_file)[0])
    assert again["password"] is None and again["added"] == []
    assert again["instances"] == 5
    assert TradingSession.objects.filter(owner__username="demo").count() == 1
    assert {i.symbol for i in StrategyInstance.objects.all()} == {
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
        "DOGEUSDT",
        "PEPEUSDT",
    }
    assert f'STREAMS_TOKEN="$(cat {token_file})" python manage.py tail_stream ' in first
    assert f"state_machines --param session_id={again['session_id']}" in first
    token = token_file.read_text()
    reset = json.loads(
        run("seed_demo", "--reset-password", "--json", "--token-file", token_file)[0]
    )
    assert reset["password"] and token_file.read_text() == token


@pytest.mark.django_db(transaction=True)
def test_run_coordinator_runs_bounded_and_reports_consistent_instances(trading_session):
    StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="SOLUSDT")
    out, err = run(
        "run_coordinator",
        "--session",
        str(trading_session.pk),
        "--seed",
        "3",
        "--speed",
        "0",
        "--ticks",
        "60",
    )
    assert "coordinating " + str(trading_session.pk) in err and "seed 3" in err
    # Seed 3 trades SOLUSDT by tick 54 and is back in a position at 60.
    assert "finished after 60 ticks, 9 state changes" in out
    assert "every instance is in a consistent state" in out
    assert "1 position(s) stay open in in_position" in out
    instance = StrategyInstance.objects.get()
    assert instance.state == "in_position" and "entry_price" in instance.params["position"]


@pytest.mark.django_db(transaction=True)
def test_run_coordinator_replays_the_sample_file(trading_session):
    StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="BTCUSDT")
    result = json.loads(
        run(
            "run_coordinator",
            "--feed",
            "csv:trading/data/sample_feed.csv",
            "--speed",
            "0",
            "--ticks",
            "50",
            "--json",
        )[0]
    )
    assert (result["ticks"], result["skipped_rows"], result["stopped"]) == (50, 0, False)


@pytest.mark.parametrize(
    "args, message",
    [
        (("--session", "424242"), "unknown trading session"),
        (("--feed", "kafka"), "unknown feed 'kafka'; use one of: sim, csv:PATH"),
        (("--feed", "csv:/nowhere/feed.csv"), "cannot read /nowhere/feed.csv"),
    ],
)
def test_run_coordinator_refuses_bad_options_before_starting(args, message):
    with pytest.raises(CommandError, match=message):
        run("run_coordinator", "--ticks", "1", *args)


def test_a_csv_with_a_bad_header_is_refused(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text("when,what\n1,2\n")
    with pytest.raises(CommandError, match="bad header 'when,what'"):
        run("run_coordinator", "--feed", f"csv:{path}", "--ticks", "1")


def test_sigint_and_sigterm_only_set_the_stop_flag():
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(1)
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(1)
    assert signal.getsignal(signal.SIGTERM) is before


def test_tail_stream_params_are_key_value_pairs():
    assert tail_stream.parse_params(["session_id=3", "symbol = BTCUSDT"]) == {
        "session_id": "3",
        "symbol": "BTCUSDT",
    }
    with pytest.raises(CommandError, match="must look like key=value"):
        tail_stream.parse_params(["session_id"])


def test_tail_stream_needs_a_token(monkeypatch):
    monkeypatch.delenv("STREAMS_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal: nobody to ask
    with pytest.raises(CommandError, match="a token is needed in STREAMS_TOKEN"):
        run("tail_stream", "state_machines")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_tail_stream_asks_for_the_token_on_a_terminal(monkeypatch):
    monkeypatch.delenv("STREAMS_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: " typed-key \n")
    assert tail_stream.read_token() == "typed-key"
    monkeypatch.setenv("STREAMS_TOKEN", "from-env")
    assert tail_stream.read_token() == "from-env"


def test_tail_stream_says_when_nothing_listens():
    url = f"ws://127.0.0.1:{free_port()}/ws"
    with pytest.raises(CommandError, match=f"cannot connect to {url}"):
        asyncio.run(tail_stream.Command().tail(url, "key", "state_machines", {}))
    with pytest.raises(CommandError, match="is not a ws:// or wss:// URL"):
        asyncio.run(tail_stream.Command().tail("http://x", "key", "state_machines", {}))


@pytest.mark.django_db(transaction=True)
def test_every_command_has_help():
    for command in ("run_coordinator", "serve", "seed_demo", "tail_stream", "write_sample_feed"):
        result = processes.manage(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: manage.py " + command in result.stdout


def test_help_lists_the_states_and_strategies_a_command_takes():
    """A new user should not have to read the code to learn what to type."""
    from trading.instances.states import STATES
    from trading.strategies import registry

    transition = processes.manage("transition", "--help").stdout
    assert all(state in transition for state in STATES)
    start = processes.manage("start_instance", "--help").stdout
    assert registry.names() and all(name in start for name in registry.names())


@pytest.mark.django_db(transaction=True)
def test_a_failing_coordinator_exits_non_zero_without_a_traceback():
    result = processes.manage("run_coordinator", "--session", "424242")
    assert result.returncode != 0
    assert "unknown trading session(s): 424242" in result.stderr
    assert "Traceback" not in result.stderr
