"""What the wheel installs, and the public Python API."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_is_listed_for_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for package in ("mmdata", "mmtrain")
        for p in (ROOT / package).rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject.toml packages: {sorted(found - listed)}"
    assert "mmdata.specs" in listed


def test_the_commands_are_packages_and_no_top_level_module_is_installed():
    # A top-level module named `cli` would clash with any other distribution's.
    assert "py-modules" not in PYPROJECT["tool"]["setuptools"]
    assert PYPROJECT["project"]["scripts"] == {"mmdata": "mmdata.cli:main", "mmtrain": "mmtrain.cli:main"}
    assert PYPROJECT["project"]["entry-points"]["mmdata.demo"] == {"train": "mmtrain.cli:demo_steps"}


def test_mmdata_never_imports_mmtrain():
    """mmtrain builds on mmdata, never the other way (the demo reaches mmtrain through an entry point)."""
    offenders = []
    for path in (ROOT / "mmdata").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names if n.split(".")[0] == "mmtrain"]
    assert not offenders
    code = "import sys, mmdata.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'mmtrain'))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


@pytest.mark.parametrize(
    "name,module",
    [
        ("import_", "mmdata.importing"),
        ("validate", "mmdata.validation"),
        ("query", "mmdata.querying"),
        ("ls", "mmdata.inspect"),
        ("log", "mmdata.inspect"),
        ("show", "mmdata.inspect"),
        ("stats", "mmdata.inspect"),
        ("diff", "mmdata.history"),
        ("tag", "mmdata.history"),
        ("export", "mmdata.exporters"),
        ("copy", "mmdata.copying"),
        ("synthesize", "mmdata.synth"),
        ("demo", "mmdata.demo_store"),
    ],
)
def test_every_command_is_a_function_of_mmdata(name, module):
    import importlib

    import mmdata

    assert getattr(mmdata, name) is getattr(importlib.import_module(module), name)
    assert name in mmdata.__all__


@pytest.mark.parametrize("first", ["attribute", "from-import", "import"])
@pytest.mark.parametrize("name", ["crawl", "transcribe", "mix"])
def test_a_function_named_like_its_subpackage_is_callable_as_mmdata_name(name, first, tmp_path):
    """mmdata.crawl is the subpackage (mmdata.crawl.download still works) and calls mmdata.crawl.crawl."""
    first_import = {
        "attribute": f"mmdata.{name}",
        "from-import": f"from mmdata.{name} import {name}",
        "import": f"import mmdata.{name}",
    }[first]
    arguments = {
        "crawl": "['x'], into='x', limit=-1",
        "transcribe": "'x', into='x', batch_size=0",
        "mix": "'spec.yaml', workers=-1",
    }[name]
    code = (
        f"import inspect, mmdata\n{first_import}\n"
        f"assert mmdata.{name}.{name} is getattr(__import__('mmdata.{name}').{name}, '{name}')\n"
        f"assert inspect.signature(mmdata.{name}) == inspect.signature(mmdata.{name}.{name})\n"
        "from mmdata.errors import InputError\n"
        f"try:\n    mmdata.{name}({arguments}, store={str(tmp_path / 'store')!r})\n"
        "except InputError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "must be at least" in out.stdout
