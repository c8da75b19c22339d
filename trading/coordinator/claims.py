"""One coordinator per trading session, whatever the number of processes.

Two coordinators of one session (the one `make run` embeds, and a
`run_coordinator --session 1` started in another terminal) would each
decide moves from the rows they read and fight over the instances: each
one's writes refused as conflicts by the other's, signals sent twice, and
each settling the other's positions when it stops. So a coordinator claims
each session it runs and runs only the sessions it holds:

- on PostgreSQL, a session-level advisory lock per trading session, on a
  connection of the claims' own (Django's connections are closed and
  reopened between ticks, which would drop the locks); the database
  releases them when the process or its connection dies;
- elsewhere (SQLite: one machine), an exclusive `flock` on a file per
  session and database under `var/coordinator/`, released by the kernel
  when the process dies.

A claim lost with its connection (PostgreSQL restarted, the backend
killed) is claimed again at the next tick, unless another coordinator took
it meanwhile.
"""

import fcntl
import hashlib
import logging
import os
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection

from config.private_files import private_dir, write_private

logger = logging.getLogger(__name__)

# The first key of the project's advisory locks: "tc", trading coordinator.
LOCK_SPACE = 0x7463


def session_claims():
    """The claims for this process's database."""
    if connection.vendor == "postgresql":
        return AdvisoryClaims(connection.get_connection_params())
    # Per database: a test's database and `make run`'s both have a session 1.
    database = hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:16]
    return FileClaims(Path(settings.VAR_DIR) / "coordinator" / database)


class AdvisoryClaims:
    def __init__(self, params):
        self._params = dict(params, autocommit=True, application_name="trading-coordinator")
        self._connection = None
        self.held = set()

    def _cursor(self):
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(**self._params)
            # A new connection holds nothing: what was held must be won again.
            self.held = set()
        return self._connection.cursor()

    def claim(self, session_ids):
        """Tries to hold each of `session_ids`; returns those held now."""
        try:
            with self._cursor() as cursor:
                for session_id in sorted(set(session_ids) - self.held):
                    cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, session_id])
                    if cursor.fetchone()[0]:
                        self.held.add(session_id)
                cursor.execute("SELECT 1")  # the connection still holds what it held
        except psycopg.Error as exc:
            logger.warning("coordinator: cannot reach the database to claim sessions (%s)", exc)
            self._drop()
        return set(self.held)

    def holder(self, session_id):
        """Who holds `session_id` (for the refusal's message), or None."""
        try:
            with self._cursor() as cursor:
                cursor.execute(
                    "SELECT a.pid, a.application_name, a.client_addr FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.classid = %s AND l.objid = %s AND l.granted",
                    [LOCK_SPACE, session_id],
                )
                row = cursor.fetchone()
        except psycopg.Error:
            return None
        return None if row is None else f"database backend {row[0]} ({row[1] or 'unnamed'})"

    def release(self):
        self._drop()

    def _drop(self):
        if self._connection is not None:
            self._connection.close()
        self._connection, self.held = None, set()


class FileClaims:
    def __init__(self, folder):
        self.folder = folder
        self._files = {}

    @property
    def held(self):
        return set(self._files)

    def claim(self, session_ids):
        private_dir(self.folder)
        for session_id in sorted(set(session_ids) - self.held):
            path = self._path(session_id)
            if not path.exists():
                write_private(path, "", overwrite=False)
            lock = open(path, "r+")  # noqa: SIM115  (held open as long as the claim)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            lock.truncate(0)
            lock.write(str(os.getpid()))
            lock.flush()
            self._files[session_id] = lock
        return self.held

    def holder(self, session_id):
        try:
            pid = self._path(session_id).read_text().strip()
        except OSError:
            return None
        return f"process {pid}" if pid else None

    def release(self):
        for lock in self._files.values():
            lock.close()
        self._files = {}

    def _path(self, session_id):
        return self.folder / f"session-{int(session_id)}.lock"
