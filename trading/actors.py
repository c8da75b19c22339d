"""Who made a change: the `actor` ("<kind>:<who>") that every state move
records in its history row and on the instance, and that the instance's
messages carry (docs/protocol.md "Why and who").

The write path (trading/instances/querysets.py) asks `current()` whenever it
records a move, so no caller passes an actor. The entry points set it for
everything that runs under them: an HTTP request's user
(trading/middleware.py: the admin, the REST API), the ops commands
(trading/management/base.py). A writer that knows better says so with
`acting_as()` (the seed) or per row (the coordinator, one strategy per
instance). Anything else is named after its process (`of_process()`): a
`manage.py` command, a shell, or `system:<program>`.

It records honest intent, not proof: anyone who can run code against the
database can write any row. What it guarantees is that the actor is never
taken from the data a caller writes (the fields are managed by the write
path), so a form or an API payload cannot claim someone else's name.
"""

import os
import pwd
import re
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

KINDS = ("coordinator", "admin", "command", "shell", "api", "system")
PATTERN = rf"^(?:{'|'.join(KINDS)}):.+$"
MAX_LENGTH = 200  # StrategyInstance.actor, StateTransition.actor
# Programs whose code is typed in by a person, not a command's.
SHELLS = frozenset({"", "-", "-c", "ipython", "bpython", "ptpython"})
MANAGE = frozenset({"manage.py", "django-admin", "django"})

# A "<kind>:<who>" string, or a function returning one (called only when a
# move is recorded: a request's user is known only once its view ran).
_current = ContextVar("trading_actor", default=None)


@contextmanager
def acting_as(actor):
    """Makes `actor` the author of every move recorded inside the block: in
    this thread or asyncio task, and in what it runs with a copy of its
    context (asgiref's sync_to_async, so a request's view). A new
    `threading.Thread` starts without it."""
    token = _current.set(actor if callable(actor) else checked(actor))
    try:
        yield
    finally:
        _current.reset(token)


def current():
    """Called by the write path for each move it records."""
    actor = _current.get()
    if callable(actor):
        actor = checked(actor())
    return actor or of_process()


def checked(actor):
    """`actor`, or ValueError unless it is "<kind>:<who>" of a known kind."""
    if not isinstance(actor, str) or len(actor) > MAX_LENGTH or not re.fullmatch(PATTERN, actor):
        raise ValueError(
            f"an actor is '<kind>:<who>', kind one of {', '.join(KINDS)}, at most "
            f"{MAX_LENGTH} characters; got {actor!r}"
        )
    return actor


# The kinds --------------------------------------------------------------


def coordinator(strategy):
    return f"coordinator:{strategy}"


def admin(user):
    return f"admin:{user.get_username()}"


def api(user):
    return f"api:{user.get_username() or 'anonymous'}"


def command(name):
    return f"command:{name}@{os_user()}"


def shell():
    return f"shell:{os_user()}"


def system(what):
    return f"system:{what}"


@cache
def os_user():
    """The account the process runs as, from its uid rather than `$USER`
    (which `sudo` and anyone's environment can set); a uid without a passwd
    entry (a container's) is named by its number."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


@cache
def of_process():
    """The actor of code that no entry point named, from how this process
    was started."""
    return from_argv(sys.argv)


def from_argv(argv):
    """`manage.py shell`, `python -c`, `python -` and an interactive
    interpreter are a shell; any other `manage.py` command is that command
    (argv[1], as Django reads it); any other program is `system:<program>`
    (daphne, pytest)."""
    path = Path(argv[0]) if argv and argv[0] else Path()
    program = path.parent.name if path.name == "__main__.py" else path.name  # python -m X
    if program in SHELLS:
        return shell()
    if program in MANAGE:
        name = argv[1] if len(argv) > 1 else "help"
        return shell() if name == "shell" else command(name)
    return system(program.removesuffix(".py"))
