"""The services one benchmark run owns: its database, its Redis db, the
servers under test and the ORM driver.

Every process is a child started here on loopback and stopped here, so a
run leaves nothing behind; each run migrates and flushes its own database
and Redis db, so runs never see each other's data.
"""

import json
import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass(frozen=True)
class Stack:
    """Where a run keeps its data and which channel layer the servers use.
    Everything the run keeps in Redis is under its own namespace, so two
    runs on one Redis (two developers' test suites) never see each other."""

    database_url: str
    redis_url: str
    layer: str = "pubsub"
    workdir: Path = ROOT / "var" / "bench"
    namespace: str = field(default_factory=lambda: f"bench{os.getpid()}")

    def env(self, **extra):
        """The environment of every project process of the run."""
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CHANNEL_LAYER=self.layer,
            STREAMS_NAMESPACE=self.namespace,
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_DIR=str(self.workdir / "log"),
            PYTHONUNBUFFERED="1",
        )
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def with_layer(self, layer):
        return replace(self, layer=layer)


def raise_open_files(wanted=65536):
    """10,000 clients need more than the usual 1,024 descriptors, and so
    does the server holding their sockets: it is a child, raised here before
    it starts, as children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def check_redis(url):
    """Raises (ConnectionError) when the run's Redis is unreachable."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    finally:
        client.close()


def prepare(stack):
    """Creates the PostgreSQL database if needed, then migrates and flushes
    it: every run starts from nothing (its Redis namespace is new)."""
    stack.workdir.mkdir(parents=True, exist_ok=True)
    url = urlparse(stack.database_url)
    if url.scheme.startswith("postgres"):
        _create_postgres_database(url)
    for command in (["migrate", "--no-input", "-v", "0"], ["flush", "--no-input", "-v", "0"]):
        subprocess.run([PY, "manage.py", *command], cwd=ROOT, env=stack.env(), check=True)


def forget(stack):
    """Deletes what the run kept in Redis (its sequence counters)."""
    import redis

    client = redis.Redis.from_url(stack.redis_url)
    try:
        keys = list(client.scan_iter(f"{stack.namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def free_ports(count, first=8100, last=8199):
    """The first of `count` consecutive free loopback ports in our range."""
    for base in range(first, last - count + 2):
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports in {first}-{last}")


def _create_postgres_database(url):
    """Without waiting for the disk at each commit: the driver is there to
    feed the servers, and an fsync per state change would cap it at the
    disk's pace rather than the ORM's."""
    import psycopg
    from psycopg import sql

    name = sql.Identifier(url.path.lstrip("/"))
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [url.path.lstrip("/")]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(name))


def wait_for_port(port, timeout, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Child:
    """A subprocess of the run whose CPU time and memory are measured."""

    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = Path(log_path)
        self.process = None

    def start(self, **popen):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=popen.pop("stdout", log),
            stderr=log,
            start_new_session=True,
            **popen,
        )
        log.close()
        return self

    @property
    def pid(self):
        return self.process.pid

    def cpu_seconds(self):
        """User + system CPU seconds so far (Linux /proc, like the rest of
        the bench)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self, timeout=10):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Server(Child):
    """A WebSocket server under test, listening on `port`."""

    def __init__(self, name, argv, env, log_path, port):
        super().__init__(name, argv, env, log_path)
        self.port = port
        self.url = f"ws://127.0.0.1:{port}/ws"

    def start(self, timeout=60):
        try:
            free_ports(1, self.port, self.port)
        except RuntimeError:
            raise RuntimeError(f"port {self.port} is taken (bench.run --port)") from None
        super().start()
        wait_for_port(self.port, timeout, self.process)
        return self


def daphne(stack, port, **env):
    """The project's server, as `make run` starts it, with a listen backlog
    large enough for a connect burst (Twisted's default is 50)."""
    argv = [
        PY,
        "-m",
        "daphne",
        "-e",
        f"tcp:port={port}:interface=127.0.0.1:backlog=2048",
        "config.asgi:application",
    ]
    return Server(
        "daphne", argv, stack.env(**env), stack.workdir / "log" / f"daphne-{port}.log", port
    )


def reference(stack, port):
    argv = [PY, "-m", "bench.reference", "--port", str(port)]
    return Server(
        "reference", argv, stack.env(), stack.workdir / "log" / f"reference-{port}.log", port
    )


class Driver(Child):
    """The ORM process: seeds data and drives state changes on command (one
    JSON line in, one JSON line out), so its start-up is paid once."""

    def __init__(self, stack):
        super().__init__(
            "driver", [PY, "-m", "bench.driver"], stack.env(), stack.workdir / "log" / "driver.log"
        )

    def start(self):
        return super().start(stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(self, command, **args):
        """Blocking; the async harness calls it from a worker thread."""
        self.process.stdin.write((json.dumps({"command": command, **args}) + "\n").encode())
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"driver exited (see {self.log_path})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"driver: {reply['error']}")
        return reply

    def stop(self, timeout=10):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
        super().stop(timeout)
