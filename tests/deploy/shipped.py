"""The files under deploy/, made usable on this machine without editing
them: each test substitutes what the docs tell an operator to fill in, so
what is tested is what ships."""

import re
import shlex
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SITE = DEPLOY / "nginx" / "trading-monitor.conf"
UNITS = DEPLOY / "systemd"
# Where docs/deploy.md checks the project out; the units name it.
INSTALL_DIR = "/srv/trading-monitor"

_PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def render(text, values):
    """`text` with each @NAME@ replaced by values[NAME]; every placeholder
    must be given one, and every value used."""
    found = {match[1:-1] for match in _PLACEHOLDER.findall(text)}
    assert found == set(values), f"placeholders {sorted(found)}, values {sorted(values)}"
    return _PLACEHOLDER.sub(lambda match: str(values[match.group()[1:-1]]), text)


def daphne_options():
    """The daphne flags of the shipped unit, but for where it listens (the
    test picks free ports) and what it serves."""
    unit = (UNITS / "trading-monitor-daphne@.service").read_text().replace("\\\n", " ")
    command = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    words = shlex.split(command)[1:]
    options = []
    while words:
        word = words.pop(0)
        if word in ("--bind", "--port"):
            words.pop(0)
        elif word != "config.asgi:application":
            options.append(word)
    return options
