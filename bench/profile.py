"""Where daphne's time goes: py-spy samples the server while a scenario
runs (only threads holding the GIL, i.e. Python CPU work, and the system
calls they make), and the report shows the functions with the most samples,
by their own time and including what they call.
"""

import asyncio
import shutil
import signal
import subprocess
import sys
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

from bench import stack

TOP = 14
# Frames every sample passes through (the interpreter, the loop, a worker
# thread's plumbing): left out of the inclusive list, which then shows where
# the work is.
PLUMBING = (
    "<frozen",
    "runpy",
    "daphne/cli.py",
    "daphne/__main__.py",
    "Server.run (daphne/server.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "twisted/internet/asyncioreactor.py",
    "threading.py",
    "concurrent/futures/thread.py",
)


def py_spy():
    found = shutil.which("py-spy") or Path(sys.executable).with_name("py-spy")
    return str(found) if Path(found).exists() else None


@asynccontextmanager
async def sampling(server, out):
    """Samples `server` for the duration of the block; the dict it yields
    holds the summary afterwards (or an "error")."""
    result = {}
    binary = py_spy()
    if binary is None:
        result["error"] = "py-spy is not installed (pip install -r requirements-bench.txt)"
        yield result
        return
    out.unlink(missing_ok=True)
    sampler = subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(server.pid),
            "--gil",
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(1)
    try:
        yield result
    finally:
        sampler.send_signal(signal.SIGINT)
        await asyncio.to_thread(sampler.wait, 30)
    if out.exists():
        result.update(summarize(out.read_text()))
    else:
        result["error"] = "py-spy wrote no profile (ptrace not permitted?)"


def summarize(raw):
    """Top functions by own samples and by inclusive samples, in percent of
    all samples, from py-spy's collapsed-stack output."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in raw.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        samples = int(count)
        frames = [name for name in map(_name, stack_text.split(";")) if name]
        if not frames:
            continue
        total += samples
        own[frames[-1]] += samples
        for name in set(frames):
            if not any(marker in name for marker in PLUMBING):
                inclusive[name] += samples
    share = lambda counter: [  # noqa: E731
        [name, round(100 * samples / total, 1)] for name, samples in counter.most_common(TOP)
    ]
    return {"samples": total, "own": share(own), "inclusive": share(inclusive)}


def _name(frame):
    """`send (websockets/asyncio/connection.py:123)` -> `send (websockets/asyncio/connection.py)`;
    thread and process frames are dropped."""
    name, _, where = frame.partition(" (")
    if not where:
        return None if frame.startswith(("process ", "thread ")) else frame
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "python3.11/", str(stack.ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
