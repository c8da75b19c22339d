"""The architecture, executable (docs/architecture.md).

`streams` knows nothing of the apps that use it: imports go trading ->
streams, and logs stands alone. Its browser client is handed a logger and
its table specs by the page, so neither its Python nor its JS may import
`trading` or `logs`, nor name a trading stream, event or snapshot key.
Other apps use `streams` only through its door (`streams/__init__.py`).
Inside, each sub-package is one runtime, and the arrows between them go
one way: nothing reaches from publishing into fan-out or back, and no
module import closes a cycle."""

import ast
import re
from pathlib import Path

from streams.wire import registry

ROOT = Path(__file__).resolve().parents[2]
STREAMS = ROOT / "streams"
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


# What each runtime of streams may import from the others; modules at the
# top (the app's Django glue: apps, checks, receivers, urls, views, the
# Python client) may import any of them.
MAY_IMPORT = {
    "wire": set(),
    "infra": set(),
    "publishing": {"wire", "infra"},
    "fanout": {"wire", "infra"},
    "connection": {"wire", "infra", "fanout"},
}


def room_of(module):
    """The sub-package of a `streams.*` module name, or None at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else None


def module_name(path):
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def every_import(path):
    """Every module `path` imports, at any depth (a function-level import
    holds a cycle open as surely as a top-level one)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]).strip(".")
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def streams_graph():
    modules = {module_name(path): path for path in PY_MODULES}
    return {
        name: {target for target in every_import(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def test_each_runtime_imports_only_the_rooms_it_may():
    offenders = {}
    for name, targets in streams_graph().items():
        room = room_of(name)
        if room is None:
            continue
        # The top (the door included) is for the apps, never for the rooms.
        wrong = {t for t in targets if room_of(t) not in (room, *MAY_IMPORT[room])}
        if wrong:
            offenders[name] = sorted(wrong)
    assert offenders == {}


def test_no_import_in_streams_closes_a_cycle():
    graph = streams_graph()
    state, cycles = {}, []

    def visit(name, path):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
    assert "streams.publishing.publish" in graph  # the walk found the rooms


def test_other_apps_use_streams_only_through_its_door():
    offenders = {}
    for app in ("trading", "logs", "config"):
        for path in sorted((ROOT / app).rglob("*.py")):
            inner = {m for m in imported_modules(path) if m.startswith("streams.")}
            if inner:
                offenders[str(path.relative_to(ROOT))] = sorted(inner)
    assert offenders == {}
    assert "publish_on_commit" in __import__("streams").__all__
