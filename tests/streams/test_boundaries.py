"""`streams` knows nothing of the apps that use it (README "Architecture"):
imports go trading -> streams, and logs stands alone. Its browser client
is handed a logger and its table specs by the page, so neither its Python
nor its JS may import `trading` or `logs`, nor name a trading stream,
event or snapshot key."""

import ast
import re
from pathlib import Path

from streams import registry

STREAMS = Path(__file__).resolve().parents[2] / "streams"
JS_MODULES = sorted((STREAMS / "static" / "streams").glob("*.js"))
PY_MODULES = sorted(STREAMS.rglob("*.py"))
OTHER_APPS = {"trading", "logs"}

# `... from "x"`, `import "x"` and `import("x")`.
SPECIFIER = re.compile(r"""\b(?:from|import)\s*\(?\s*["']([^"']+)["']""")


def trading_names():
    """Every stream trading registers, its event types and the keys of its
    snapshots, read from the registry so a new stream is covered too."""
    names = set()
    for name in registry.names():
        stream = registry.get(name)
        if stream.parse_params.__module__.partition(".")[0] != "trading":
            continue
        names |= {name, *stream.events}
        if stream.snapshot_model is not None:
            names |= set(stream.snapshot_model.model_fields)
    return names


def test_the_browser_client_imports_only_its_own_modules():
    imports = {module.name: SPECIFIER.findall(module.read_text()) for module in JS_MODULES}
    outside = {
        name: [spec for spec in specs if not spec.startswith("./") or ".." in spec]
        for name, specs in imports.items()
    }
    assert {name: specs for name, specs in outside.items() if specs} == {}
    # Guards the test against passing because it no longer sees imports.
    assert "./subscription.js" in imports["ws-client.js"]


def test_the_browser_client_names_nothing_of_trading():
    names = trading_names()
    assert {"state_machines", "instance_removed", "instances", "condition_progress"} <= names
    word = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(names)))})\b")
    found = {module.name: sorted(set(word.findall(module.read_text()))) for module in JS_MODULES}
    assert {name: words for name, words in found.items() if words} == {}


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_the_streams_app_imports_neither_trading_nor_logs():
    offenders = {
        str(path.relative_to(STREAMS)): sorted(imports)
        for path in PY_MODULES
        if (imports := {m for m in imported_modules(path) if m.partition(".")[0] in OTHER_APPS})
    }
    assert offenders == {}
    assert len(PY_MODULES) > 10  # the walk found the app
