"""The machinery every fault test shares: the servers, the writer, the
clients, and the three promises checked after each fault.

A test builds a `Rig` (private Redis, two daphne processes on it, a fleet of
protocol-following clients spread over both, a writer process), breaks
something while writes flow, lets it recover, stops the writer and calls
`rig.check()`, which asserts:

1. every client's table equals the database's live instances (id, state,
   version) within 5 s of the last write: whatever broke, nobody is left
   with a stale dashboard;
2. no write was skipped without a gap: for each instance the versions a
   client applied from events follow each other, unless a snapshot it
   received covers the jump (a skipped state move with no resync is the
   one failure a user can't notice);
3. no client received `internal_error`: a fault of the infrastructure is
   `unavailable` (retry) or a close code (reconnect), never a "bug" reply.

Every waiting step has a short bound, so a broken recovery fails within
seconds with what each client saw, instead of hanging the suite.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.db import connection
from rest_framework.authtoken.models import Token

from tests.support import processes
from tests.support.live import Daphne
from tests.support.redis_server import RedisServer
from tests.support.stream_client import Fleet, StreamClient
from trading.instances import states
from trading.models import StateTransition, StrategyInstance, TradingSession

CONVERGE_SECONDS = 5
CLIENTS_PER_SERVER = 10
INSTANCES = 10
WRITES_PER_SECOND = 20


class FaultDaphne(Daphne):
    """tests.live.Daphne as the Makefile runs it (`--websocket_timeout -1`:
    daphne's own timeout must not close sockets mid-test), plus the faults:
    SIGKILL and SIGSTOP/SIGCONT of the process."""

    def argv(self):
        argv = super().argv()
        return [*argv[:3], "--websocket_timeout", "-1", *argv[3:]]

    def start(self, timeout=40):
        """A longer bound than tests.live's: importing Django while two
        other processes do takes a while on two busy cores."""
        return super().start(timeout)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def freeze(self):
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self):
        """SIGTERM with a short grace: teardown, not a test of shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                self.kill()
        return super().stop()


class Child:
    """A project process (writer, coordinator) with its output in a file."""

    def __init__(self, name, argv, log_path, **env):
        self.name = name
        self.argv = argv
        self.log_path = Path(log_path)
        self.env = env
        self.process = None

    def start(self):
        self.output = open(self.log_path, "a")
        self.process = subprocess.Popen(
            self.argv,
            cwd=processes.ROOT,
            env=processes.env(**self.env),
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def running(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, signum):
        if self.running():
            self.process.send_signal(signum)

    def wait(self, timeout):
        try:
            return self.process.wait(timeout)
        finally:
            self.output.close()

    def read(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def close(self):
        if self.running():
            self.process.kill()
            self.process.wait(10)
        if self.process is not None and not self.output.closed:
            self.output.close()


class Rig:
    """One fault test's world. Build it with `Rig(tmp_path)`, then
    `start()`; `close()` tears everything down (the fixture does it)."""

    def __init__(self, tmp_path, owner, aof=False):
        self.tmp = Path(tmp_path)
        self.owner = owner
        self.redis = RedisServer(self.tmp / "redis", aof=aof)
        # DEBUG off as in production: its per-frame debug logging costs CPU
        # the two cores need, and the logs then read like an operator's.
        self.env = {"LOG_DIR": str(self.tmp / "log"), "DEBUG": "0"}
        self.servers = []
        self.fleet = None
        self.writer = None
        self.coordinators = []
        self.session = None

    # Building ---------------------------------------------------------------

    def start(self, clients_per_server=CLIENTS_PER_SERVER, instances=INSTANCES, writer=True):
        """Redis, two daphnes (started side by side: each takes seconds on
        two cores), the session with its instances, the clients (each has
        its first snapshot when this returns) and, unless told not to, the
        writer."""
        self.redis.start()
        self.env["REDIS_URL"] = self.redis.url
        self.session = TradingSession.objects.create(name="faults", owner=self.owner)
        symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "PEPEUSDT"]
        for n in range(instances):
            StrategyInstance.objects.create(
                session=self.session, strategy="pump", symbol=symbols[n % len(symbols)]
            )
        token = Token.objects.get_or_create(user=self.owner)[0].key
        self.servers = [
            FaultDaphne(log_path=self.tmp / f"daphne-{n}.log", **self.env) for n in range(2)
        ]
        starting = [server.start for server in self.servers]
        if writer:
            starting.append(self.start_writer)
        self._in_parallel(starting)
        # Half of them resume with `since` after a gap or a reconnect,
        # half always take a fresh snapshot: both recovery paths are held
        # to the same promises.
        clients = [
            StreamClient(
                f"c{n}-{server.port}",
                server.ws_url,
                token,
                params={"session_id": str(self.session.pk)},
                resume=n % 2 == 1,
            )
            for server in self.servers
            for n in range(clients_per_server)
        ]
        self.fleet = Fleet(clients).start()
        return self

    @staticmethod
    def _in_parallel(functions):
        errors = []

        def run(function):
            try:
                function()
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(f,)) for f in functions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        if errors:
            raise errors[0]

    def start_writer(self, rate=WRITES_PER_SECOND):
        self.writer = Child(
            "writer",
            [sys.executable, "-m", "tests.faults.writer", str(self.session.pk), str(rate)],
            self.tmp / "writer.log",
            **self.env,
        ).start()
        self.wait_for_writes()
        return self.writer

    def versions(self):
        return sum(
            StrategyInstance.objects.filter(session=self.session).values_list("version", flat=True)
        )

    def wait_for_writes(self, timeout=30):
        """Until a write lands: a fault must hit while writes flow, not
        while the writer is still importing Django."""
        before = self.versions()
        deadline = time.monotonic() + timeout
        while self.versions() == before:
            assert self.writer.running(), self.writer.read()[-3000:]
            assert time.monotonic() < deadline, (
                f"the writer wrote nothing in {timeout} s:\n{self.writer.read()[-3000:]}"
            )
            time.sleep(0.05)
        connection.close()  # this thread's connection is not the test's

    def stop_writer(self, timeout=20):
        """SIGTERM; returns the writer's report (last write time included)."""
        self.writer.signal(signal.SIGTERM)
        returncode = self.writer.wait(timeout)
        output = self.writer.read()
        assert returncode == 0, f"writer exited with {returncode}:\n{output[-3000:]}"
        return json.loads(output.strip().splitlines()[-1])

    def coordinator(self, *args):
        child = Child(
            f"coordinator-{len(self.coordinators)}",
            [
                sys.executable,
                "manage.py",
                "run_coordinator",
                "--session",
                str(self.session.pk),
                *args,
            ],
            self.tmp / f"coordinator-{len(self.coordinators)}.log",
            **self.env,
        )
        self.coordinators.append(child)
        return child.start()

    def health(self):
        """Each daphne's `GET /healthz` status, as a load balancer sees it
        (None: no answer within 3 s)."""
        statuses = []
        for server in self.servers:
            try:
                with urllib.request.urlopen(server.url + "/healthz", timeout=3) as reply:
                    statuses.append(reply.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
            except OSError:
                statuses.append(None)
        return statuses

    def steady(self, seconds):
        """Let writes flow for a while (time in which clients must keep up)."""
        time.sleep(seconds)

    # Checking ---------------------------------------------------------------

    def live_rows(self):
        rows = StrategyInstance.objects.filter(session=self.session).exclude(state=states.STOPPED)
        return {
            str(pk): (state, version)
            for pk, state, version in rows.values_list("pk", "state", "version")
        }

    def announced_versions(self):
        """Per instance, the versions whose write produced a state_machines
        event: every recorded state move (StateTransition) plus creation.
        Writes of conditions alone bump the version without an event."""
        announced = {}
        for pk, version in StateTransition.objects.filter(
            instance__session=self.session
        ).values_list("instance_id", "version"):
            announced.setdefault(str(pk), set()).add(version)
        return announced

    def check(self, last_write):
        """The three promises (module docstring). `last_write` is the
        time.time() of the last committed write."""
        expected = self.live_rows()
        announced = self.announced_versions()
        deadline = max(last_write + CONVERGE_SECONDS, time.time() + 0.5)
        stale = None
        while True:
            views = self.fleet.views()
            stale = {
                name: diff
                for name, view in views.items()
                if (diff := _diff(view, expected, announced))
            }
            if not stale or time.time() > deadline:
                break
            time.sleep(0.1)
        seen = self.fleet.call(
            lambda: [
                (
                    c.name,
                    {k: list(v) for k, v in c.observations.items()},
                    list(c.internal_errors),
                    list(c.unexpected),
                    _history(c),
                )
                for c in self.fleet.clients
            ]
        )
        histories = {name: history for name, _, _, _, history in seen}
        problems = []
        if stale:
            problems.append(
                f"{len(stale)} of {len(seen)} clients differ from the database "
                f"{CONVERGE_SECONDS} s after the last write:\n"
                + "\n".join(
                    f"  {name}: {diff}\n{histories[name]}"
                    for name, diff in sorted(stale.items())[:4]
                )
            )
        announced = self.announced_versions()
        skipped = {}
        for name, observations, _, _, _ in seen:
            holes = silent_skips(observations, announced)
            if holes:
                skipped[name] = holes
        if skipped:
            problems.append(
                f"{len(skipped)} clients applied events past a write they never got, with no "
                "gap or resync in between (instance, version known, version applied, "
                "skipped versions):\n"
                + "\n".join(
                    f"  {name}: {holes[:5]}\n{histories[name]}"
                    for name, holes in sorted(skipped.items())[:4]
                )
            )
        internal = [(name, m) for name, _, errors, _, _ in seen for m in errors]
        if internal:
            problems.append(f"{len(internal)} internal_error messages received: {internal[:5]}")
        unexpected = [(name, u) for name, _, _, notes, _ in seen for u in notes]
        if unexpected:
            problems.append(f"clients saw what the protocol doesn't allow here: {unexpected[:5]}")
        if os.environ.get("FAULTS_REPORT"):
            # Debugging aid (pytest -s): what recovery looked like.
            print(f"\n=== {self.tmp.name}: {self.summary()}\ndatabase: {expected}")
            for name, observations, _, _, _ in seen[:: max(1, len(seen) // 4)]:
                print(
                    f"  {name} applied events: "
                    f"{sum(k == 'event' for obs in observations.values() for k, _, _ in obs)}; "
                    f"last per instance: { {i: obs[-1] for i, obs in observations.items()} }"
                )
            for name, _, _, _, history in seen[:: max(1, len(seen) // 4)]:
                print(f"  {name}:\n{history}")
            print(self.server_logs())
        if problems:
            raise AssertionError("\n\n".join(problems) + "\n\n" + self.server_logs())

    def summary(self):
        """What the clients went through (for the test's own assertions)."""
        return self.fleet.call(
            lambda: {
                "connects": sum(c.connects for c in self.fleet.clients),
                "snapshots": sum(c.snapshots for c in self.fleet.clients),
                "recoveries": sum(c.recoveries for c in self.fleet.clients),
                "errors": [m["data"] for c in self.fleet.clients for m in c.errors],
            }
        )

    def server_logs(self, tail=3000):
        parts = []
        for n, server in enumerate(self.servers):
            parts.append(f"--- daphne {n} (port {server.port}) ---\n{server.read()[-tail:]}")
        for child in ([self.writer] if self.writer else []) + self.coordinators:
            parts.append(f"--- {child.name} ---\n{child.read()[-tail:]}")
        parts.append(f"--- redis ---\n{self.redis.read_log()[-1000:]}")
        return "\n".join(parts)

    def close(self):
        if self.fleet is not None:
            with contextlib.suppress(Exception):
                self.fleet.stop()
        for child in ([self.writer] if self.writer else []) + self.coordinators:
            child.close()
        for server in self.servers:
            server.close()
        self.redis.close()
        # The test database is flushed next; drop connections of this
        # thread that a fault may have killed.
        connection.close()


def silent_skips(observations, announced):
    """Per instance, events applied on top of a version that was not the
    previous announced one, with no snapshot in between: [(id, known,
    applied, skipped announced versions)]."""
    holes = []
    for row_id, seen in observations.items():
        known = None
        for kind, version, _seq in seen:
            if kind == "event" and known is not None:
                missing = sorted(v for v in announced.get(row_id, ()) if known < v < version)
                if missing:
                    holes.append((row_id, known, version, missing))
            known = version if known is None else max(known, version)
    return holes


def _diff(view, expected, announced):
    """Rows where a client is wrong. Its version may trail the database's
    by writes of conditions alone (state_machines does not announce them),
    but never fall below the last announced one."""
    diff = {}
    for row_id in sorted(set(view) | set(expected), key=int):
        have, want = view.get(row_id), expected.get(row_id)
        floor = max((v for v in announced.get(row_id, ()) if want and v <= want[1]), default=0)
        if have is None or want is None or have[0] != want[0] or not floor <= have[1] <= want[1]:
            diff[row_id] = {"client": have, "database": want}
    return diff


def _history(client, last=12):
    return "\n".join(f"      {at:.3f} {what}" for at, what in client.history[-last:])
