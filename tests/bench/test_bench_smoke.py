"""The benchmark harness, run small: 10 clients for a few seconds against a
real daphne, the reference server and Redis.

It checks the harness, not the speed (no timed asserts): nothing may be
lost and every figure of the report must be there. Needs Redis (skips
without it, fails under CI) and runs on a SQLite file of its own, so it
needs no PostgreSQL database beyond the suite's.
"""

import os
from urllib.parse import urlparse

import pytest

from bench import report, stack
from bench.run import Plan, benchmark
from tests.support.services import redis_url

pytestmark = [pytest.mark.redis, pytest.mark.live]

# A Redis db of the benchmarks' own, apart from `make bench`'s; each run has
# its own namespace in it and its own ports, so parallel suites don't meet.
SMOKE_REDIS_DB = 13


@pytest.fixture
def smoke_stack(tmp_path):
    url = urlparse(redis_url())._replace(path=f"/{SMOKE_REDIS_DB}").geturl()
    return stack.Stack(
        database_url=f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        redis_url=url,
        workdir=tmp_path,
    )


def test_ten_clients_lose_nothing_and_the_report_has_every_figure(smoke_stack):
    plan = Plan(
        clients=[10],
        events=20,
        max_events=20,
        repeats=1,
        snapshots=[100, 1000],
        storm_events=30,
        log_seconds=1.0,
        layers=False,
        profile=False,
        absent_clients=5,
        absent_events=10,
        crowd=30,
        crowd_batch=10,
        crowd_events=4,
        port=stack.free_ports(5, first=8150),
        coordinated=[20],
        coordinated_ticks=2,
        per_row_ticks=1,
    )
    results = benchmark(plan, smoke_stack, "smoke")

    runs = results["daphne"]["fanout"] + results["reference"]["fanout"]
    assert {(run["load"], run["clients"]) for run in runs} == {("rate", 10), ("max", 10)}
    for run in runs:
        missing = [name for name, _, _ in report.FANOUT_COLUMNS if run.get(name) is None]
        assert not missing, f"{run} lacks {missing}"
        assert run["lost"] == 0, run
        assert run["stale_tables"] == 0, run
        assert run["delivered"] + run["healed"] == run["expected"] == 10 * 20, run
    for server in ("daphne", "reference"):
        for timings in results[server]["full_update"].values():
            assert len(timings["cold"]) == len(timings["shared"]) == plan.repeats + 2, timings
        (storm,) = results[server]["storm"]
        assert storm["lost"] == 0 and storm["stale_tables"] == 0, storm
        assert storm["resync_s"] is not None and storm["snapshots"] == 10, storm
    (resumed,) = results["daphne"]["storm_resume"]
    assert resumed["lost"] == resumed["duplicates"] == resumed["stale_tables"] == 0, resumed
    assert resumed["recovered"] + resumed["snapshots"] >= 10, resumed
    for absence in results["absence"]:
        assert absence["recovered"] == 5 and absence["snapshots"] == 0, absence
        assert absence["lost"] == absence["duplicates"] == absence["stale_tables"] == 0, absence
    crowd = results["crowd"]
    assert crowd["clients"] == 30 and crowd["lost"] == 0 and crowd["stale_tables"] == 0, crowd
    assert results["logs"].get("entries_per_s") or results["logs"].get("error")
    assert [(run["instances"], run["design"]) for run in results["coordinator"]] == [
        (20, "batched"),
        (20, "per row"),
    ]
    assert all(
        run["lost"] == 0 and run["tick_p99_ms"] is not None for run in results["coordinator"]
    )

    text = report.render(results)
    for heading in (
        "## Targets",
        "## Fan-out",
        "## 30 connections",
        "## full_update",
        "## Reconnect storm",
        "## Resuming after an absence",
        "## Coordinator",
        "## Log ingestion",
        "## Where daphne's time goes",
    ):
        assert heading in text
    assert "| daphne | 10 | 20/s |" in text and "| reference | 10 | max |" in text


def test_it_refuses_to_run_without_redis(tmp_path):
    """The bench must say Redis is missing, not report zeros."""
    dead = stack.Stack(
        f"sqlite:///{tmp_path / 'x.sqlite3'}", "redis://127.0.0.1:1/13", workdir=tmp_path
    )
    with pytest.raises(Exception, match="(?i)connect"):
        benchmark(Plan(clients=[1], repeats=1), dead, "smoke")
    assert not os.path.exists(tmp_path / "x.sqlite3")
