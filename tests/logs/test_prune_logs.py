"""`manage.py prune_logs --older-than 7d`, through its methods and its
command line."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from logs.durations import parse_duration
from logs.management.commands.prune_logs import Command
from logs.models import FrontendLogEntry


def entry_aged(age):
    return FrontendLogEntry.objects.create(
        level="ERROR", message=f"aged {age}", received_at=timezone.now() - age
    )


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_it_reads_durations_in_s_m_h_d(text, duration):
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["7", "7w", "d", "-1d", "1.5h", "0d", "7 d", ""])
def test_it_refuses_a_bad_duration(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.django_db
def test_prune_deletes_only_entries_older_than_the_cutoff():
    entry_aged(timedelta(days=10)), entry_aged(timedelta(days=8))
    recent = entry_aged(timedelta(days=6))
    command = Command()

    deleted = command.prune(command.cutoff(timedelta(days=7)))

    assert deleted == 2
    assert list(FrontendLogEntry.objects.all()) == [recent]


@pytest.mark.django_db
def test_prune_works_through_batches():
    for _ in range(5):
        entry_aged(timedelta(days=30))
    command = Command()
    command.batch_size = 2

    assert command.prune(timezone.now()) == 5
    assert not FrontendLogEntry.objects.exists()


@pytest.mark.django_db
def test_prune_stops_between_batches_when_asked():
    for _ in range(5):
        entry_aged(timedelta(days=30))
    command = Command()
    command.batch_size = 2
    command.stop(signum=15, frame=None)

    assert command.prune(timezone.now()) == 0
    assert FrontendLogEntry.objects.count() == 5


@pytest.mark.django_db
def test_the_command_prints_how_many_it_deleted():
    entry_aged(timedelta(days=8)), entry_aged(timedelta(hours=1))
    out = StringIO()

    call_command("prune_logs", "--older-than", "7d", stdout=out)

    assert out.getvalue().startswith("Deleted 1 frontend log entries received before ")


def test_the_command_refuses_a_bad_duration():
    with pytest.raises(CommandError, match="'7w' is not a duration"):
        call_command("prune_logs", "--older-than", "7w")


def test_the_command_line_exits_non_zero_on_a_bad_duration(capsys):
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["manage.py", "prune_logs", "--older-than", "soon"])

    assert exit_.value.code != 0
    assert "'soon' is not a duration" in capsys.readouterr().err
