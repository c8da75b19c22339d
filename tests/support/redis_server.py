"""A private `redis-server` for tests that break Redis on purpose.

Fault tests kill, freeze and restart Redis; doing that to the machine's
shared Redis (6379) would break every other test run and user of it. This
one listens on a free loopback port, keeps its files in a directory of its
own, and is always killed at the end.

`aof=True` runs it with `--appendonly yes --appendfsync always`, so a
SIGKILL loses nothing and a restart in the same directory comes back with
every key (the "data kept" case); without it nothing is persisted and a
restart comes back empty.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

BINARY = "redis-server"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def available():
    return shutil.which(BINARY) is not None


class RedisServer:
    def __init__(self, directory, port=None, aof=False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.aof = aof
        self.process = None
        self.frozen = False
        self.log_path = self.directory / "redis.log"

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self):
        argv = [
            BINARY,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--daemonize",
            "no",
            "--save",
            "",
            "--logfile",
            str(self.log_path),
        ]
        if self.aof:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        return argv

    def start(self, timeout=10):
        self.process = subprocess.Popen(
            self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self.frozen = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.read_log()[-2000:]}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def ping(self):
        """True when the server answers PING (raw RESP: no client pool to go stale)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        """SIGKILL: no save, no goodbye to the clients (a crash, an OOM kill)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None
        self.frozen = False

    def restart(self, keep_data=None):
        """Kill and start again on the same port and directory. With
        `keep_data` False the directory's data files are removed first;
        by default data is kept exactly when the server runs with AOF."""
        self.kill()
        if keep_data is None:
            keep_data = self.aof
        if not keep_data:
            self.wipe()
        return self.start()

    def wipe(self):
        for path in self.directory.iterdir():
            if path == self.log_path:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

    def freeze(self):
        """SIGSTOP: the sockets stay open but nothing answers (a stalled VM,
        a long fork, swapping)."""
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False

    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def close(self):
        if self.process is not None and self.frozen:
            self.thaw()
        self.kill()
