"""The import graph keeps its layers: each layer imports only those below it.

Layers, bottom up (a module may import its own layer and any layer below, never one above):

0. record layer: ``mmdata.records`` (record kinds, media fields and file types, placeholders,
   ``Violation``, where the shipped specs are) and ``mmdata.errors``. ``records`` imports
   nothing of ours but ``errors``.
1. utilities: ``mmdata`` (the package: ``__version__`` and the lazy public API), ``progress``,
   ``options``, ``paths``, ``audio``, ``shard``, ``yamlfile``, ``crash``: leaves that import
   only the record layer.
2. the store: ``mmdata.store`` (lake, versions, tables, media folder and probes, journals,
   commit): only layers 0-1 and itself; nothing from schemas, formats, exporters, ingest or
   anything above.
3. record checks and readers, side by side and independent of each other: ``mmdata.schemas``
   (JSON Schema, rules, media checks through a lookup it is given) imports only layer 0;
   ``mmdata.formats`` (one reader per input format, the registry) imports only layers 0-1.
4. ``mmdata.ingest`` (input items -> storable records: media references resolved into the
   store, then the checks) and ``mmdata.exporters`` (one writer per export format, the registry):
   layers 0-3.
5. commands and jobs: ``importing``, ``validation``, ``querying``, ``inspect``, ``history``,
   ``mix``, ``crawl``, ``transcribe``, ``synth``, ``jobs``, ``executors`` (which runs the job
   functions it is given as shards, and imports none of them), ``demo_store``, ... . Formats and
   schemas never import them.
6. the CLI: ``cli``, ``mmdata.cli``, ``mmdata.render``, ``mmtrain.cli`` and the
   ``__main__`` modules; nothing in the library imports it.

``mmtrain`` sits beside mmdata, not inside it: it may import mmdata's public API (the modules
behind ``mmdata.export``, ``mmdata.show``, ``mmdata.Store``, ...), the record layer and the
utilities, nothing else; its CLI (``mmtrain.cli``) is in layer 6. mmdata never imports mmtrain.
Between packages (``mmdata.store``, ``mmdata.formats``, ..., ``mmtrain``) there are no import
cycles. Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RECORD_LAYER = {"mmdata.records", "mmdata.errors"}
UTILITIES = {
    "mmdata",
    "mmdata.progress",
    "mmdata.options",
    "mmdata.paths",
    "mmdata.audio",
    "mmdata.shard",
    "mmdata.yamlfile",
    "mmdata.crash",
    "mmdata.tally",
    "mmdata.extras",
}
JOBS = ("mmdata.mix", "mmdata.synth", "mmdata.crawl", "mmdata.transcribe", "mmdata.jobs", "mmdata.executors", "mmdata.cli")
CLI = ("cli", "mmdata.cli", "mmdata.render", "mmtrain.cli", "mmdata.__main__", "mmtrain.__main__")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [*ROOT.glob("mmdata/**/*.py"), *ROOT.glob("mmtrain/**/*.py"), ROOT / "cli.py"]
    return {_module_name(p): p for p in files if p.is_file()}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports, at any depth of its code (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` imports the submodule when there is one, else a name of pkg
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # ``import mmdata.store.lake as x`` -> the module itself
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path, set(_sources())) for name, path in _sources().items()}


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _edges(source_filter, target_filter) -> list[tuple[str, str]]:
    return sorted((a, b) for a, targets in GRAPH.items() if source_filter(a) for b in targets if target_filter(b))


def test_the_graph_is_read():
    assert "mmdata.store.lake" in GRAPH["mmdata.store.commit"]
    assert "mmdata.records" in GRAPH["mmdata.schemas.check"]
    assert "mmdata.formats.sharegpt" in GRAPH["mmdata.formats.registry"]  # ``from pkg import submodule``


def test_the_record_layer_imports_nothing_of_ours_but_errors():
    assert GRAPH["mmdata.records"] <= {"mmdata.errors"}
    assert GRAPH["mmdata.errors"] == set()


def test_utilities_import_only_the_record_layer():
    assert _edges(lambda a: a in UTILITIES, lambda b: b not in RECORD_LAYER) == []


def test_the_store_imports_nothing_above_itself():
    allowed = RECORD_LAYER | UTILITIES
    assert _edges(lambda a: _in(a, "mmdata.store"), lambda b: b not in allowed and not _in(b, "mmdata.store")) == []


def test_schemas_and_formats_stand_on_the_record_layer_only():
    assert _edges(lambda a: _in(a, "mmdata.schemas"), lambda b: b not in RECORD_LAYER and not _in(b, "mmdata.schemas")) == []
    allowed = RECORD_LAYER | UTILITIES
    assert _edges(lambda a: _in(a, "mmdata.formats"), lambda b: b not in allowed and not _in(b, "mmdata.formats")) == []


def test_ingest_and_exporters_import_no_command_job_or_cli():
    above = (
        "mmdata.importing",
        "mmdata.validation",
        "mmdata.querying",
        "mmdata.inspect",
        "mmdata.history",
        "mmdata.demo_store",
        *JOBS,
        *CLI,
        "mmtrain",
    )
    assert _edges(lambda a: _in(a, "mmdata.ingest", "mmdata.exporters"), lambda b: _in(b, *above)) == []
    assert _edges(lambda a: _in(a, "mmdata.exporters"), lambda b: _in(b, "mmdata.ingest")) == []


def test_formats_and_schemas_never_import_jobs_or_the_cli():
    assert _edges(lambda a: _in(a, "mmdata.formats", "mmdata.schemas"), lambda b: _in(b, *JOBS, *CLI)) == []


def test_the_library_never_imports_the_cli():
    assert _edges(lambda a: _in(a, "mmdata", "mmtrain") and not _in(a, *CLI), lambda b: _in(b, *CLI)) == []


def test_mmdata_never_imports_mmtrain():
    assert _edges(lambda a: _in(a, "mmdata"), lambda b: _in(b, "mmtrain")) == []


def test_mmtrain_imports_only_the_public_api_and_the_bottom_layers():
    import mmdata

    allowed = RECORD_LAYER | UTILITIES | set(mmdata._API.values())  # the modules behind ``mmdata.<name>``
    assert _edges(lambda a: _in(a, "mmtrain") and not _in(a, *CLI), lambda b: _in(b, "mmdata") and b not in allowed) == []


def test_the_executors_import_no_command():
    """Sharded runs get the job function from the CLI: the executors stay below the commands they run."""
    commands = ("mmdata.importing", "mmdata.crawl", "mmdata.transcribe", "mmdata.synth", "mmdata.mix", "mmdata.jobs")
    assert _edges(lambda a: a == "mmdata.executors", lambda b: _in(b, *commands, *CLI)) == []


def _package(module: str) -> str:
    """The package a module counts in for cycles: ``mmdata.store.lake`` -> ``mmdata.store``; top-level modules alone."""
    parts = module.split(".")
    if parts[0] == "mmtrain":
        return "mmtrain"
    if parts[0] == "mmdata" and len(parts) > 1:
        return ".".join(parts[:2])
    return module


def test_no_import_cycles_between_packages():
    packages: dict[str, set[str]] = {}
    for a, targets in GRAPH.items():
        for b in targets:
            if _package(a) != _package(b):
                packages.setdefault(_package(a), set()).add(_package(b))
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(packages.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(packages):
        if node not in state:
            visit(node, [node])
    assert cycles == []
