"""Running project code in other processes against the test database."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


CHILD = "test-child"


def database_url():
    """The URL of the database this test is using (the test database)."""
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or "postgres"
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    # Named, so a test can kill its children's connections and not its own.
    return f"postgres://{user}@{host}:{port}/{conf['NAME']}?application_name={CHILD}"


def env(**extra):
    """Environment for a child process that shares this test's database."""
    child = dict(
        os.environ,
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="config.settings",
        STREAMS_NAMESPACE=settings.STREAMS_NAMESPACE,
        STREAMS_RELAY_FILE=str(settings.STREAMS_RELAY_FILE),
        SECRET_KEY=settings.SECRET_KEY,
    )
    child.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    child.update({key: str(value) for key, value in extra.items()})
    return child


def manage(*args, timeout=60, **extra_env):
    """Run `manage.py ARGS` in a child process; returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *map(str, args)],
        env=env(**extra_env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
