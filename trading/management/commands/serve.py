"""`manage.py serve`: daphne, and optionally the coordinator, in one process.

Without REDIS_URL the channel layer lives in one process, so the only way
for the coordinator's events to reach the dashboard is to run inside the
server's process: here, in a background thread beside daphne's reactor. The
coordinator is stopped (and its instances settled) before the reactor shuts
down, while the server can still hand its last events to the browsers.
With REDIS_URL the same command works, but the scaled set-up (one
`run_coordinator`, several plain daphne processes) is in docs/running.md.
"""

from daphne.server import Server  # isort:skip  (installs the asyncio reactor first)

import asyncio
import logging
import threading

from channels.routing import get_default_application
from daphne.endpoints import build_endpoint_description_strings
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from twisted.internet import reactor, threads

import streams
from config import http_limits
from trading.exceptions import TradingError
from trading.management import coordinator_options

logger = logging.getLogger(__name__)


class BackgroundCoordinator:
    """The coordinator on its own thread, started once the server's event
    loop runs and stopped before it ends."""

    def __init__(self, coordinator, ticks):
        self.coordinator = coordinator
        self.ticks = ticks
        self.stop = threading.Event()
        self.result = None
        self.thread = threading.Thread(target=self._run, name="coordinator", daemon=True)

    def start(self):
        """Called on the reactor's loop: the process's hub is made first, so
        the coordinator's first events already have somewhere to go."""
        asyncio.ensure_future(streams.get_hub()).add_done_callback(lambda _: self.thread.start())

    def _run(self):
        try:
            self.result = self.coordinator.run(ticks=self.ticks, stop=self.stop)
            if not self.stop.is_set():
                logger.warning("coordinator: %s; the server goes on", self.result.summary())
        except TradingError as exc:
            logger.error("coordinator: %s; the server goes on without it", exc)
        except Exception:
            logger.exception("coordinator: stopped by an error")
        finally:
            connections.close_all()

    def finish(self):
        """Called in a worker thread while the reactor shuts down."""
        self.stop.set()
        if self.thread.ident is not None:
            self.thread.join()
        streams.flush(5)


class _Server(Server):
    """daphne's server, telling its command when it could not listen: daphne
    logs "Listen failure" and stops the reactor, and its command would then
    exit 0 as if it had served (a port already taken, by a `make run` in
    another terminal say)."""

    listen_failure = None
    on_listening = None  # called once the port is ours

    def listen_success(self, port):
        super().listen_success(port)
        if self.on_listening is not None:
            self.on_listening()

    def listen_error(self, failure):
        self.listen_failure = failure.getErrorMessage()
        super().listen_error(failure)


class Command(BaseCommand):
    help = (
        "Serves the site and the streams with daphne; with --coordinator also "
        "runs the trading coordinator in the same process (what `make run` "
        "does: the in-memory layer needs it). Ctrl-C stops both cleanly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
        parser.add_argument(
            "--coordinator",
            action="store_true",
            help="run the trading coordinator in this process too",
        )
        coordinator_options.add_arguments(parser)

    def handle(self, *args, **options):
        background = None
        if options["coordinator"]:
            coordinator = coordinator_options.build_coordinator(options)
            self.stdout.write(coordinator_options.describe(coordinator))
            background = BackgroundCoordinator(coordinator, options["ticks"])
        self.stdout.write(
            f"serving http://{options['host']}:{options['port']}/ and "
            f"ws://{options['host']}:{options['port']}/ws (Ctrl-C stops)"
        )
        self.serve(options["host"], options["port"], background, options["verbosity"])
        if background is not None and background.result is not None:
            self.stdout.write(self.style.SUCCESS(background.result.summary()))

    def serve(self, host, port, background, verbosity):
        server = _Server(
            application=get_default_application(),
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            verbosity=verbosity,
            # daphne's default closes every socket after a day with 1000,
            # which PROTOCOL.md tells clients not to reconnect after.
            websocket_timeout=-1,
            # Slow and oversized requests, which daphne's options can't bound.
            ready_callable=lambda: http_limits.install(server.http_factory),
        )
        if background is not None:
            # Only once listening: a server that could not have its port
            # must not run (and then settle) a coordinator at all.
            # (daphne may report it before its loop is the running one.)
            server.on_listening = lambda: reactor.callWhenRunning(background.start)
            reactor.addSystemEventTrigger(
                "before", "shutdown", lambda: threads.deferToThread(background.finish)
            )
        if not settings.REDIS_URL:
            # Commands run from another terminal relay their events here.
            address = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            reactor.callWhenRunning(streams.announce_server, f"http://{address}:{port}")
            reactor.addSystemEventTrigger("after", "shutdown", streams.withdraw_server)
        server.run()
        if server.listen_failure is not None:
            raise CommandError(
                f"cannot serve on {host}:{port}: {server.listen_failure} (another server "
                "on that port? pick another with --port, or PORT= for make run)"
            )
