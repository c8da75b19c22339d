"""The live dashboard in chromium, end to end: daphne and the trading
coordinator run as real processes on the Redis layer and share the test
database; a user logs in through the real login page.

Per test module (so the whole suite stays quick): the browser and daphne.
Per test: the data (`transaction=True`: committed, so other processes see
it, and the database is emptied after the test), the coordinator on that
data, a fresh browser context and a dashboard logged in through the login
page. The coordinator is stopped before the database is emptied: under
PostgreSQL, pytest-django's TRUNCATE deadlocks with a coordinator writing
meanwhile (seen: "deadlock detected" between the flush and an instance
update).

Playwright's sync API keeps an event loop running in this thread, and Django
then refuses ORM calls here (SynchronousOnlyOperation), pytest-django's own
flush after each test included. `DJANGO_ALLOW_ASYNC_UNSAFE` is set while a
module of these tests runs, and only then: no ORM call here ever runs
concurrently with another in this thread, which is what the check guards
against. Child processes never inherit it (tests/processes.env drops it).
"""

import json
import secrets
import signal
import subprocess
import sys

import pytest

from tests.browser.console import ConsoleLog
from tests.browser.dashboard import Dashboard
from tests.browser.desk import make_desk
from tests.support import processes, services
from tests.support.browser import chromium  # noqa: F401  (fixture)
from tests.support.live import Daphne

VIEWPORT = {"width": 1400, "height": 900}
# The simulated feed is deterministic per seed. Seed 287 at 5 ticks per
# second has a liquidation at the first tick and never 18 ticks (3.6 s)
# without one over its first 700 ticks; its occasional cascades and pumps
# move the instances too.
FEED_SEED = 287
FEED_SPEED = 5


@pytest.fixture(scope="module", autouse=True)
def orm_beside_playwright():
    """See the module docstring."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def on_test_database(django_db_setup):
    """The test database every process of the module works on. Checked, not
    assumed: pytest-django sets it up only for tests marked `django_db`, and
    otherwise these processes would write to (and the flush empty) the
    developer's database."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert name == connection.settings_dict["TEST"]["NAME"], (
        f"not on the test database ({name}): mark the tests django_db(transaction=True)"
    )
    return name


@pytest.fixture(scope="module")
def redis_url():
    """Redis is required (a failure under CI, a skip elsewhere)."""
    return services.redis_url()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The module's log directory (LOG_DIR of every child) and the console
    output of daphne and the coordinator, kept for a failing test."""
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def child_env(redis_url, workdir):
    """Environment of every child process: the Redis layer, the module's
    log directory, and one SECRET_KEY, so a login survives a restart of
    daphne (the session data is signed with it). DEBUG off, as deployed:
    cached static files, and no debug log line per WebSocket frame."""
    return {
        "DEBUG": "0",
        "REDIS_URL": redis_url,
        "LOG_DIR": str(workdir / "log"),
        "SECRET_KEY": "browser-tests-" + secrets.token_urlsafe(32),
    }


@pytest.fixture(scope="module")
def server(on_test_database, child_env, workdir):
    """daphne on a free port, on the test database."""
    daphne = Daphne(log_path=workdir / "daphne.log", **child_env)
    daphne.start()
    yield daphne
    daphne.close()


@pytest.fixture(scope="module")
def manage(child_env):
    """Runs `manage.py ARGS` as another process on the test database."""

    def run(*args):
        return processes.manage(*args, **child_env)

    return run


@pytest.fixture(scope="module")
def transition(manage):
    """Moves an instance with `manage.py transition`; returns its payload
    (JSON). The coordinator may move the same instance at the same moment
    (the command then refuses with a conflict): try again."""

    def move(instance_id, state):
        for _ in range(3):
            result = manage("transition", instance_id, state, "--json")
            if result.returncode == 0:
                return json.loads(result.stdout)
            if "someone else" not in result.stderr:
                break
        raise AssertionError(f"transition {instance_id} {state} failed: {result.stderr}")

    return move


@pytest.fixture
def desk(transactional_db, on_test_database):
    """A user with a password, their trading session and its instances
    (desk.py), committed: daphne and the coordinator see them."""
    return make_desk()


@pytest.fixture
def coordinator(desk, child_env, workdir):
    """`manage.py run_coordinator` on the seeded simulated feed, for the
    desk's session; stopped (SIGTERM: it settles its instances) before the
    test's data is deleted. Tests wait for its data, not for its start."""
    with open(workdir / "coordinator.log", "a") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_coordinator",
                "--session",
                str(desk.session.pk),
                "--feed",
                "sim",
                "--seed",
                str(FEED_SEED),
                "--speed",
                str(FEED_SPEED),
            ],
            env=processes.env(**child_env),
            cwd=processes.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    assert process.returncode == 0, f"the coordinator failed, see {workdir / 'coordinator.log'}"


@pytest.fixture(scope="module")
def console():
    """Console errors of every page of the module (see console.py)."""
    return ConsoleLog()


@pytest.fixture
def context(chromium):
    """A browser context of its own (cookies: a login) per test."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(5000)
    yield context
    context.close()


@pytest.fixture
def open_dashboard(context, server, console, request):
    """Opens a page, watched by `console`, as a Dashboard (not logged in)."""
    pages = []

    def open_page():
        page = context.new_page()
        pages.append(page)
        console.watch(page, f"{request.node.name}[page {len(pages)}]")
        return Dashboard(page, server.url)

    return open_page


@pytest.fixture
def dashboard(open_dashboard, desk):
    """The dashboard of `desk`'s user, logged in and live."""
    return open_dashboard().log_in(desk.username, desk.password)
