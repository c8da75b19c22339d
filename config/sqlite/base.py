"""Django's SQLite backend, with the database file made private first.

SQLite creates a missing database with the process umask (usually 0644),
and gives its -wal, -shm and -journal files the database file's own mode.
Making the file 0600 before SQLite opens it (config/private_files.py,
`private_sqlite`) makes every companion 0600 too, whatever path
DATABASE_URL names: the file holds plaintext API tokens and session keys.
Done when a connection is opened, not when the settings are imported.
"""

from django.db.backends.sqlite3 import base

from config.private_files import private_sqlite


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        private_sqlite(conn_params["database"])
        return super().get_new_connection(conn_params)
