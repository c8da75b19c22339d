"""What the numbers were measured on, read from the machine at run time:
the report must describe the run's machine, not the one a README was
written on, and a shared machine's load changes every figure."""

import os
import platform
from importlib import metadata
from pathlib import Path

# The code on every path a benchmark measures.
PACKAGES = (
    "Django",
    "channels",
    "channels-redis",
    "daphne",
    "Twisted",
    "autobahn",
    "websockets",
    "redis",
    "psycopg",
    "uvloop",
    "orjson",
)


def describe():
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": _cpuinfo("model name") or platform.processor() or "unknown",
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "load": os.getloadavg(),
    }


def _cpuinfo(key):
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
