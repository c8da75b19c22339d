"""Attacks on the server's own logs from below: warnings any client can make
the server write as often as it likes (a client that gets itself closed
with 1013 again and again, refused relay requests, failing health checks),
each a line in errors.log or the journal, until the real ones are buried or
rotated away."""

import io
import json
import logging
import logging.config

import pytest

from config.logging import ERRORS_FILE, RepeatedWarnings, build_logging, build_production_logging
from config.logging import configure as configure_logging

FLOOD = 1000


@pytest.fixture
def clock(monkeypatch):
    """The filter's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(RepeatedWarnings, "clock", staticmethod(lambda: now[0]))
    return now


@pytest.fixture
def restore_logging(settings):
    yield
    logging.config.dictConfig(settings.LOGGING)


def flood(logger="streams.transport"):
    log = logging.getLogger(logger)
    for n in range(FLOOD):
        log.warning("streams: closing a client %d bytes behind (1013)", 4_000_000 + n)


def test_a_flood_of_one_warning_is_one_line_then_one_line_per_interval_with_a_count(
    tmp_path, clock, restore_logging
):
    configure_logging(build_logging(tmp_path, repeat_seconds=60))

    flood()
    clock[0] += 61
    logging.getLogger("streams.transport").warning(
        "streams: closing a client %d bytes behind (1013)", 7
    )

    lines = (tmp_path / ERRORS_FILE).read_text().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("closing a client 4000000 bytes behind (1013)")
    assert lines[1].endswith(
        "closing a client 7 bytes behind (1013) (999 more like this dropped in the 60 s before)"
    )


def test_other_warnings_and_every_error_still_get_through(tmp_path, clock, restore_logging):
    configure_logging(build_logging(tmp_path, repeat_seconds=60))

    flood()
    logging.getLogger("streams.views").warning("healthz: %s check failed: %s", "database", "down")
    for n in range(3):
        logging.getLogger("streams.hub").error("hub: dispatch failed %d", n)

    text = (tmp_path / ERRORS_FILE).read_text()
    assert text.count("closing a client") == 1
    assert "healthz: database check failed: down" in text
    assert text.count("dispatch failed") == 3


def test_the_production_journal_is_guarded_the_same_way(clock, restore_logging, monkeypatch):
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    configure_logging(build_production_logging(repeat_seconds=60))

    flood("streams.views")

    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [
        "streams: closing a client 4000000 bytes behind (1013)"
    ]
