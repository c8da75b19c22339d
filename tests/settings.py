"""The settings of a test run: the project's, with a var/ of the run's own.

`make test` must not write into the developer's var/ (its logs gained the
tests' lines, and the test databases' -wal/-shm files stayed behind), so
each run gets a folder under the system's temporary directory, removed
when the run ends (tests/conftest.py). Child processes (daphne, manage.py,
writers) inherit VAR_DIR and share it. pytest-django imports this module
before any conftest, which is why the folder is chosen here.
"""

import os
import sys
import tempfile

RUN_PREFIX = "trading-monitor-tests-"

if "VAR_DIR" not in os.environ:
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix=RUN_PREFIX)

from config.local_state import prepare  # noqa: E402
from config.settings import *  # noqa: E402, F403

prepare(sys.modules[__name__])
