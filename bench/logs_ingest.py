"""Log ingestion: accepted entries/s through `POST /api/logs/`, batches of
20 WARN/ERROR entries (the ones the server keeps), token auth, keep-alive
connections from several threads, against its own daphne with the per-user
throttle raised (LOGS_THROTTLE_USER) so the server, not the throttle, is
what is measured.

A flood must not slow the rest of the site, so `/healthz` and a page load
(the login page: a template, a session and a CSRF token, as the dashboard)
are timed by bench.probe while the server is idle and again during the
flood.

`python -m bench.logs_ingest` runs this scenario alone (bench.run runs it
with everything else).
"""

import argparse
import asyncio
import http.client
import json
import threading
import time
from contextlib import nullcontext

from bench import profile, report, scenarios, stack

BATCH = 20
WORKERS = 8
ENDPOINT = "/api/logs/"
PRESENT_MARKER = stack.ROOT / "logs" / "urls.py"
PROBED = ["/healthz", "/accounts/login/"]
IDLE_SECONDS = 2.0


def batch(worker, number):
    return json.dumps(
        {
            "entries": [
                {
                    "level": "ERROR" if i % 2 else "WARN",
                    "message": f"bench worker {worker} batch {number} entry {i}: TypeError in panel",
                    "source": "bench",
                    "url": "http://127.0.0.1/dashboard",
                    "context": {"panel": "state_machines", "attempt": i},
                }
                for i in range(BATCH)
            ]
        }
    ).encode()


def _worker(port, token, worker, deadline, totals, lock):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    counts = {"requests": 0, "accepted": 0, "throttled": 0, "failed": 0}
    number = 0
    while time.monotonic() < deadline:
        number += 1
        try:
            conn.request("POST", ENDPOINT, batch(worker, number), headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            counts["failed"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        counts["requests"] += 1
        if response.status == 202:
            counts["accepted"] += json.loads(body)["accepted"]
        elif response.status == 429:
            counts["throttled"] += 1
        else:
            counts["failed"] += 1
    conn.close()
    with lock:
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value


async def measure(base, port, seconds, token, profiled):
    """Accepted entries per second, or why it was not measured."""
    if not PRESENT_MARKER.exists():
        return {"error": "not measured: endpoint not present"}
    with stack.daphne(base, port, LOGS_THROTTLE_USER="1000000/s") as server:
        server.start()
        sampler = nullcontext({})
        if profiled:
            sampler = profile.sampling(server, server.log_path.with_suffix(".logs.txt"))
        idle = await _probed(port, IDLE_SECONDS)
        cpu_before = server.cpu_seconds()
        async with sampler as found:
            (totals, elapsed), flooded = await asyncio.gather(
                asyncio.to_thread(_hammer, port, token, seconds), _probed(port, seconds)
            )
        cpu = server.cpu_seconds() - cpu_before
    result = {
        **totals,
        "workers": WORKERS,
        "seconds": elapsed,
        "entries_per_s": totals.get("accepted", 0) / elapsed,
        "server_cpu_s": cpu,
        "latency": {"idle": idle, "flood": flooded},
    }
    if found:
        result["profile"] = found
    return result


def _hammer(port, token, seconds):
    totals, lock = {}, threading.Lock()
    started = time.monotonic()
    threads = [
        threading.Thread(target=_worker, args=(port, token, n, started + seconds, totals, lock))
        for n in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return totals, time.monotonic() - started


async def _probed(port, seconds):
    """bench.probe's figures for PROBED over `seconds`."""
    probe = await asyncio.create_subprocess_exec(
        stack.PY,
        "-m",
        "bench.probe",
        str(port),
        str(seconds),
        *PROBED,
        cwd=stack.ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await probe.communicate()
    return json.loads(out)


async def _alone(base, port, seconds, profiled):
    stack.prepare(base)
    with stack.Driver(base) as driver:
        driver.start()
        seed = await scenarios.call(driver, "seed", clients=1, sessions={})
    try:
        return await measure(base, port, seconds, seed["tokens"][0], profiled)
    finally:
        stack.forget(base)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Log ingestion alone, as bench.run measures it.")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args(argv)
    base = stack.Stack(args.database_url, args.redis_url)
    stack.check_redis(base.redis_url)
    results = {"logs": asyncio.run(_alone(base, args.port, args.seconds, args.profile))}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    print(report.logs_section(results))


if __name__ == "__main__":
    main()
