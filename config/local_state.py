"""What a development process keeps on this machine's disk, made when a
process starts rather than when the settings are imported.

`var/` (VAR_DIR) holds the SQLite database (API tokens, session keys), the
kept SECRET_KEY, the logs and the coordinator's session locks: 0700, its
files 0600 (config/private_files.py). Importing the settings touches none
of it, so a tool that imports them (django-stubs' mypy plugin, an IDE, a
test's settings) creates no folder, key or database; the entry points call
`prepare()` once, before Django starts: manage.py, config/asgi.py (daphne)
and the test settings.
"""

from django.core.management.utils import get_random_secret_key

from config.private_files import make_private, private_dir, write_private


def secret_key_file(var_dir):
    return var_dir / "secret_key"


def kept_secret_key(var_dir):
    """The development SECRET_KEY kept in var/, or None before the first
    start made one."""
    try:
        return secret_key_file(var_dir).read_text().strip() or None
    except OSError:
        return None


def prepare(settings):
    """Called by each entry point with the settings, before Django's setup:
    var/ made (or narrowed) 0700, the static folder made, and in
    development without SECRET_KEY a key kept in var/ so that logins
    survive a restart and the processes of one checkout share it (the first
    process to start writes it; the others, and this one, read that one)."""
    private_dir(settings.VAR_DIR)
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    if settings.SECRET_KEY_KEPT:
        key_file = secret_key_file(settings.VAR_DIR)
        write_private(key_file, get_random_secret_key(), overwrite=False)
        make_private(key_file)
        settings.SECRET_KEY = kept_secret_key(settings.VAR_DIR)
