"""`manage.py tail_stream` against a real daphne that restarts under it."""

import json
import queue
import subprocess
import sys
import threading
import time

import pytest

from streams.client import reconnect_delay
from tests.support import processes, services
from tests.support.live import Daphne, free_port
from trading.models import StrategyInstance

pytestmark = pytest.mark.django_db(transaction=True)


class Tail:
    """`manage.py tail_stream ARGS` as a subprocess; its stdout and stderr
    lines are read as they come."""

    def __init__(self, *args, **env):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "tail_stream", *map(str, args)],
            env=processes.env(**env),
            cwd=processes.ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out, self.err = queue.Queue(), queue.Queue()
        for pipe, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._read, args=(pipe, lines), daemon=True).start()

    @staticmethod
    def _read(pipe, lines):
        for line in pipe:
            lines.put(line.rstrip("\n"))

    def next_line(self, lines, matching, timeout=15):
        """The next line of `lines` for which `matching(line)` is true."""
        deadline = time.monotonic() + timeout
        while True:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if matching(line):
                return line

    def next_message(self, type_, timeout=15):
        return json.loads(
            self.next_line(self.out, lambda line: json.loads(line)["type"] == type_, timeout)
        )

    def stop(self):
        self.process.terminate()
        return self.process.wait(10)


def test_tail_stream_rides_out_a_server_restart(trading_session, owner, token_for):
    redis_url = services.redis_url()
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="BTCUSDT"
    )
    with Daphne(REDIS_URL=redis_url) as server:
        tail = Tail(
            "state_machines",
            "--url",
            server.ws_url,
            "--param",
            f"session_id={trading_session.pk}",
            STREAMS_TOKEN=token_for(owner),
            REDIS_URL=redis_url,
        )
        try:
            tail.next_message("full_update")
            server.restart()
            status = json.loads(tail.next_line(tail.err, lambda line: "reconnected" in line))
            assert status["status"] == "reconnected"
            # Resumed from the history kept in Redis: no snapshot needed.
            resumed = tail.next_message("subscribed")
            assert resumed["data"] == {"recovered": True}

            moved = processes.manage("transition", instance.pk, "monitoring", REDIS_URL=redis_url)
            assert moved.returncode == 0, moved.stderr
            change = tail.next_message("state_change")
            assert (change["data"]["id"], change["data"]["state"]) == (
                str(instance.pk),
                "monitoring",
            )
            assert tail.process.poll() is None
        finally:
            returncode = tail.stop()
        assert returncode == 0


def test_tail_stream_with_a_bad_token_exits_at_once_saying_signed_out():
    with Daphne() as server:
        # A reconnect loop would run into the timeout (TimeoutExpired); the
        # bound is loose because starting Django alone takes seconds here.
        result = processes.manage(
            "tail_stream",
            "state_machines",
            "--url",
            server.ws_url,
            STREAMS_TOKEN="not-a-token",
            timeout=30,
        )
    assert result.returncode != 0
    assert "signed out" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_tail_stream_with_no_server_says_where_it_looked_and_how_to_point_it():
    free = free_port()
    result = processes.manage(
        "tail_stream", "state_machines", STREAMS_TOKEN="any", PORT=free, timeout=30
    )
    assert result.returncode != 0
    assert f"cannot connect to ws://127.0.0.1:{free}/ws" in result.stderr
    assert "--url" in result.stderr and "$PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_count_counts_the_streams_events_not_its_subscribed_and_full_update(
    trading_session, owner, token_for
):
    """`--count 1` must wait for a real event: the two messages every
    subscription starts with are printed but are not what was asked for."""
    instance = StrategyInstance.objects.create(session=trading_session, strategy="pump", symbol="X")
    token = token_for(owner)
    with Daphne(REDIS_URL=services.redis_url()) as server:
        tail = Tail(
            "state_machines",
            "--param",
            f"session_id={trading_session.pk}",
            "--url",
            server.ws_url,
            "--count",
            1,
            STREAMS_TOKEN=token,
            REDIS_URL=services.redis_url(),
        )
        tail.next_message("full_update")
        assert tail.process.poll() is None
        result = processes.manage(
            "transition", instance.pk, "monitoring", REDIS_URL=services.redis_url()
        )
        assert result.returncode == 0, result.stderr
        assert tail.next_message("state_change")["data"]["state"] == "monitoring"
        assert tail.process.wait(15) == 0
    assert tail.next_line(tail.err, lambda line: "event(s)" in line) == "1 event(s)"


def test_reconnect_delays_are_jittered_under_a_capped_window_above_a_floor():
    assert reconnect_delay(1, rand=lambda: 0.999) < 0.5
    assert reconnect_delay(4, rand=lambda: 1.0) == 4.0
    assert reconnect_delay(40, rand=lambda: 1.0) == 30.0
    assert reconnect_delay(1, 1013, rand=lambda: 0.0) == 2.0
    assert reconnect_delay(1, 4429, rand=lambda: 0.0) == 60.0
    assert reconnect_delay(1, 1012, rand=lambda: 0.0) == 0.0
