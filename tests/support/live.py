"""A real daphne process for end-to-end tests (browser, cross-process)."""

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from tests.support import processes


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Daphne:
    """daphne serving config.asgi on 127.0.0.1:`port`, sharing the test
    database; `restart()` keeps the port so clients can reconnect.
    `options` are more daphne flags (e.g. those of the deployed unit).

    Its console output goes to a file (`log_path`, appended to across
    restarts; a temporary file by default), never to a pipe: nobody reads a
    pipe while the server runs, and a full one would block daphne mid-test.
    """

    def __init__(self, port=None, log_path=None, options=(), **env):
        self.port = port or free_port()
        self.log_path = log_path
        self.options = list(options)
        self.env = {"DEBUG": "1", **env}
        self.process = None
        self.output = None

    def argv(self):
        return [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            *self.options,
            "config.asgi:application",
        ]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout=20):
        if self.output is None:
            self.output = (
                open(self.log_path, "a+") if self.log_path else tempfile.TemporaryFile("w+")
            )
        started_at = self.output.seek(0, 2)
        self.process = subprocess.Popen(
            self.argv(),
            env=processes.env(**self.env),
            cwd=processes.ROOT,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.output.seek(started_at)
                raise RuntimeError(f"daphne exited: {self.output.read()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"daphne did not answer on {self.url} within {timeout} s")

    def stop(self):
        """SIGTERM, as an operator would; returns (returncode, output)."""
        returncode = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            returncode = self.process.returncode
        self.process = None
        return returncode, self.read()

    def read(self):
        if self.output is None:
            return ""
        self.output.seek(0)
        return self.output.read()

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        """Stops the server and closes its output file."""
        self.stop()
        if self.output is not None:
            self.output.close()
            self.output = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class Serve(Daphne):
    """`manage.py serve ARGS` (daphne, with the coordinator when asked) on a
    free port, with the environment as given (no DEBUG added)."""

    def __init__(self, *args, **env):
        super().__init__()
        self.args = [str(arg) for arg in args]
        self.env = env

    def argv(self):
        return [sys.executable, "manage.py", "serve", "--port", str(self.port), *self.args]
