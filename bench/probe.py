"""Latency of plain page loads while something else loads the server:
`python -m bench.probe PORT SECONDS PATH...` GETs each path every
INTERVAL on a keep-alive connection of its own and prints, as one JSON
object, each path's samples, p50, p99, max and the statuses seen.

A process of its own: the load client's threads hold its GIL, and a probe
timed among them would measure their queue, not the server's.
"""

import http.client
import json
import sys
import threading
import time

from bench.stats import percentile

INTERVAL = 0.02


def _probe(port, path, deadline, found):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, statuses = [], {}
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            status = str(response.status)
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append((time.monotonic() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        time.sleep(max(0.0, started + INTERVAL - time.monotonic()))
    conn.close()
    latencies.sort()
    found[path] = {
        "samples": len(latencies),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else None,
        "statuses": statuses,
    }


def main(argv):
    port, seconds, paths = int(argv[0]), float(argv[1]), argv[2:]
    deadline = time.monotonic() + seconds
    found = {}
    threads = [
        threading.Thread(target=_probe, args=(port, path, deadline, found)) for path in paths
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1:])
