"""The deployment of docs/deploy.md, small: the shipped nginx site over TLS
in front of two daphne processes started with the shipped unit's flags, on
the Redis layer and the test database. Per module, like tests/browser,
whose fixtures these reuse (see its conftest for why the ORM is allowed
beside Playwright)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.browser.conftest import (  # noqa: F401  (fixtures)
    child_env,
    console,
    desk,
    manage,
    on_test_database,
    orm_beside_playwright,
    redis_url,
    transition,
)
from tests.deploy import nginx as nginx_process
from tests.deploy.shipped import daphne_options
from tests.support import processes
from tests.support.browser import chromium  # noqa: F401  (fixture)
from tests.support.live import Daphne, free_port
from tests.support.services import require

# Low, so a test reaches it quickly.
ANON_LOG_RATE = 5


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """nginx's prefix, the collected static files and every process's
    output, kept for a failing test."""
    return tmp_path_factory.mktemp("deploy")


@pytest.fixture(scope="module")
def nginx(workdir):
    """nginx in front of two daphne ports (started by `daphnes`)."""
    require("nginx", nginx_process.installed(), nginx_process.NGINX)
    server = nginx_process.Nginx(workdir, [free_port(), free_port()], workdir / "static")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def daphnes(nginx, on_test_database, child_env, workdir):
    """The two daphne processes, with the unit's flags and the env file's
    STREAMS_ALLOWED_ORIGINS, started together; the static files are
    collected meanwhile (each costs a Django start-up)."""
    servers = [
        Daphne(
            port=port,
            log_path=workdir / f"daphne-{port}.log",
            options=daphne_options(),
            STREAMS_ALLOWED_ORIGINS=nginx.url,
            LOGS_THROTTLE_ANON=f"{ANON_LOG_RATE}/min",
            **child_env,
        )
        for port in nginx.upstream_ports
    ]
    with ThreadPoolExecutor(3) as pool:
        collected = pool.submit(
            processes.manage,
            "collectstatic",
            "--noinput",
            "--no-post-process",
            STATIC_ROOT=workdir / "static",
            **child_env,
        )
        list(pool.map(Daphne.start, servers))
    assert collected.result().returncode == 0, collected.result().stderr
    yield servers
    for server in servers:
        server.close()


@pytest.fixture
def context(chromium):
    """A browser context trusting the throwaway certificate."""
    context = chromium.new_context(ignore_https_errors=True)
    context.set_default_timeout(5000)
    yield context
    context.close()
