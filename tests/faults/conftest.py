"""The fault tests' one fixture: a `Rig` factory that always tears down."""

import pytest
from django.db import connection

from tests.faults.support import Rig
from tests.support import redis_server, services


@pytest.fixture
def make_rig(tmp_path, owner):
    """make_rig(aof=False) -> an unstarted Rig. Needs PostgreSQL (the
    coordinator and daphne write concurrently; SQLite would be another
    test) and the redis-server binary for a private Redis."""
    services.require(
        "PostgreSQL",
        connection.vendor == "postgresql",
        f"DATABASE_URL points at {connection.vendor}",
    )
    services.require("redis-server", redis_server.available(), "no redis-server binary on PATH")
    rigs = []

    def make(**options):
        rig = Rig(tmp_path / f"rig{len(rigs)}", owner, **options)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()
