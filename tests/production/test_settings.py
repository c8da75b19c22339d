"""DJANGO_ENV=production: the deploy checks pass, and the settings that are
only safe on a developer's machine stop the process at start-up."""

import subprocess
import sys

import pytest
from django.core.management.utils import get_random_secret_key

from tests.support import processes


def production_env(**changes):
    """A complete production environment, with `changes` (None unsets)."""
    env = processes.env(
        DJANGO_ENV="production",
        DEBUG="0",
        SECRET_KEY=get_random_secret_key(),
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=processes.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_deploy_checks_find_nothing():
    done = manage("check", "--deploy", env=production_env())

    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


def test_hsts_for_subdomains_and_preload_are_opt_in():
    done = manage(
        "diffsettings",
        "--all",
        env=production_env(
            SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
            SECURE_HSTS_PRELOAD="1",
            SECURE_HSTS_SECONDS="600",
        ),
    )

    assert done.returncode == 0, done.stderr
    for line in (
        "SECURE_HSTS_INCLUDE_SUBDOMAINS = True",
        "SECURE_HSTS_PRELOAD = True",
        "SECURE_HSTS_SECONDS = 600",
        "SILENCED_SYSTEM_CHECKS = []",
        "SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')",
    ):
        assert line in done.stdout


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SECRET_KEY": None}, "DJANGO_ENV=production needs SECRET_KEY"),
        ({"DEBUG": "1"}, "DJANGO_ENV=production needs DEBUG off"),
        ({"REDIS_URL": None}, "DJANGO_ENV=production needs REDIS_URL"),
        ({"DJANGO_ENV": "prod"}, "DJANGO_ENV='prod' is not one of: development, production"),
    ],
)
def test_unsafe_settings_stop_the_process(changes, message):
    done = manage("check", env=production_env(**changes))

    assert done.returncode != 0
    assert f"ImproperlyConfigured: {message}" in done.stderr
