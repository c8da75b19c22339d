"""Log ingestion: accepted entries/s through `POST /api/logs/`, batches of
20 WARN/ERROR entries (the ones the server keeps), token auth, keep-alive
connections from a few threads, against its own daphne with the per-user
throttle raised (LOGS_THROTTLE_USER) so the server, not the throttle, is
what is measured.
"""

import asyncio
import http.client
import json
import threading
import time
from contextlib import nullcontext

from bench import profile, stack

BATCH = 20
WORKERS = 4
ENDPOINT = "/api/logs/"
PRESENT_MARKER = stack.ROOT / "logs" / "urls.py"


def batch(worker, number):
    return json.dumps({"entries": [
        {
            "level": "ERROR" if i % 2 else "WARN",
            "message": f"bench worker {worker} batch {number} entry {i}: TypeError in panel",
            "source": "bench",
            "url": "http://127.0.0.1/dashboard",
            "context": {"panel": "state_machines", "attempt": i},
        }
        for i in range(BATCH)
    ]}).encode()


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
        cpu_before = server.cpu_seconds()
        async with sampler as found:
            totals, elapsed = await asyncio.to_thread(_hammer, port, token, seconds)
        cpu = server.cpu_seconds() - cpu_before
    result = {
        **totals,
        "seconds": elapsed,
        "entries_per_s": totals.get("accepted", 0) / elapsed,
        "server_cpu_s": cpu,
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
