"""Files that only this account may read.

var/ holds the SQLite database (API tokens, session keys), the persisted
SECRET_KEY, the logs and the relay's address: none of it may be readable by
the machine's other accounts. Modes are given explicitly where each file is
made, not through a process-wide umask, which would also make private the
files a command writes for people (write_sample_feed's CSV).
"""

import contextlib
import os
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# What SQLite writes beside a database file.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path):
    """Creates `path` 0700; also narrows one made before this rule (or by
    hand), since mkdir leaves an existing folder's mode alone."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)


def make_private(*paths):
    """Narrows those of `paths` that exist to 0600."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, FILE_MODE)


def write_private(path, text, *, overwrite=True):
    """Writes `text` as `path`, 0600 from its first byte.

    It is written aside (mkstemp makes the file 0600) and then moved into
    place, so a reader sees no file or all of it. With overwrite=False an
    existing file wins, so processes starting together agree on the first
    one's content.
    """
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        if overwrite:
            os.replace(draft, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
    finally:
        Path(draft).unlink(missing_ok=True)


def private_sqlite(name):
    """Makes an SQLite database file 0600 before SQLite opens it.

    SQLite creates a missing database with the process umask (usually
    0644), but gives its -wal, -shm and -journal files the database file's
    own mode. So the file is created here, empty (an empty file is an empty
    database to SQLite) and 0600, or narrowed if it exists: every companion
    SQLite makes afterwards is born 0600 too, whatever path DATABASE_URL
    names. A `connection_created` hook would instead chase files that
    already exist, and miss the companions made after it ran.
    """
    if name == ":memory:" or str(name).startswith("file:"):  # in memory, or a URI
        return
    path = Path(name)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    make_private(path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS))
