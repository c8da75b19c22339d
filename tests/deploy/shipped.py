"""The files under deploy/, made usable on this machine without editing
them: each test substitutes what the docs tell an operator to fill in, so
what is tested is what ships."""

import re
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
