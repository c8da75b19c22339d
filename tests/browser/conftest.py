"""The live dashboard in chromium, end to end: daphne and the trading
coordinator run as real processes on the Redis layer and share the test
database; a user logs in through the real login page.

Per test module (so the whole suite stays quick): the browser, daphne, the
coordinator and the data they share. Per test: a fresh browser context and
a dashboard logged in through the login page.

The data is the module's, not each test's (no `django_db` marker): with
`transaction=True` pytest-django empties the database after every test, and
under PostgreSQL that TRUNCATE deadlocks with the coordinator's writes
(seen: "deadlock detected" between the flush and an instance update). The
module commits its data (other processes see it) and empties the database
once, at its end, after the coordinator and daphne have stopped. Each test
moves its own instance, so the tests stay independent of each other.

Playwright's sync API keeps an event loop running in this thread, and Django
then refuses ORM calls here (SynchronousOnlyOperation). `DJANGO_ALLOW_ASYNC_
UNSAFE` is set while a module of these tests runs, and only then: no ORM call
here ever runs concurrently with another in this thread, which is what the
check guards against. Child processes never inherit it (tests/processes.env
drops it).
"""

import json
import secrets
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from tests import processes, services
from tests.browser.console import ConsoleLog
from tests.browser.dashboard import Dashboard
from tests.browser.desk import make_desk
from tests.browser_support import chromium  # noqa: F401  (fixture)
from tests.live import Daphne

VIEWPORT = {"width": 1400, "height": 900}
# The simulated feed is deterministic per seed. Seed 287 at 5 ticks per
# second has a liquidation at the first tick and never goes 18 ticks
# (3.6 s) without one over its first 700 ticks (140 s, longer than a
# module runs); its occasional cascades and pumps move the instances too.
FEED_SEED = 287
FEED_SPEED = 5


@pytest.fixture(scope="module", autouse=True)
def module_database(django_db_setup, django_db_blocker):
    """The test database, open to this module's ORM calls (see the module
    docstring), and emptied when the module is done: set up first, so torn
    down last, after the processes that write to it."""
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield
        call_command("flush", interactive=False, verbosity=0)


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
def server(module_database, child_env, workdir):
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


@pytest.fixture(scope="module")
def coordinator(desk, child_env, workdir):
    """`manage.py run_coordinator` on the seeded simulated feed, for the
    desk's session."""
    log = open(workdir / "coordinator.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_coordinator", "--session", str(desk.session.pk),
         "--feed", "sim", "--seed", str(FEED_SEED), "--speed", str(FEED_SPEED)],
        env=processes.env(**child_env), cwd=processes.ROOT,
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 30
    while "coordinating" not in (workdir / "coordinator.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"the coordinator did not start:\n{(workdir / 'coordinator.log').read_text()}")
        time.sleep(0.1)
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture(scope="module")
def desk(module_database):
    """A user with a password, their trading session and its instances
    (desk.py), committed: daphne and the coordinator see them."""
    return make_desk()


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
