"""The house rules of src/tlsconnect/, checked on the code itself.

The layers themselves are import-linter's contract in pyproject.toml (`lint-imports` in
CI); these tests hold what it cannot see: imports hidden in functions, private names
used across modules, and the tables that must agree with each other.
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import subprocess
import sys

import pytest

import tlsconnect
from tlsconnect import _plan
from tlsconnect._configgen import DRIVERS
from tlsconnect._model import CONFIG_DRIVERS
from tlsconnect.adapters import ADAPTERS

SRC = pathlib.Path(tlsconnect.__file__).parent
MODULES = sorted(p for p in SRC.rglob("*.py") if "testing" not in p.relative_to(SRC).parts)
TESTING = sorted((SRC / "testing").rglob("*.py"))


def _tree(path: pathlib.Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _is_tlsconnect(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "tlsconnect"
    return any(alias.name.split(".")[0] == "tlsconnect" for alias in node.names)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_tlsconnect_inside_a_function(path):
    """A function-level import of a tlsconnect module hides a dependency (or a cycle) from
    the layers contract; only drivers and cryptography are imported lazily."""
    found = []
    for function in ast.walk(_tree(path)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and _is_tlsconnect(node):
                    found.append(f"line {node.lineno} in {function.name}()")
    assert found == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_name_is_imported_from_another_module(path):
    """What other modules need is part of the package's inner API and named so."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and _is_tlsconnect(node):
            base = (path.parent / ("../" * (node.level - 1))).resolve()
            for part in (node.module or "").split("."):
                if part:
                    base = base / part
            for alias in node.names:
                is_module = (base / f"{alias.name}.py").exists() or (base / alias.name).is_dir()
                if alias.name.startswith("_") and not alias.name.startswith("__") and not is_module:
                    found.append(f"{alias.name} (line {node.lineno})")
    assert found == []


def test_layers_contract_holds_and_breaks_on_an_upward_import(tmp_path):
    """The import-linter contract passes on the code, and fails on a planted upward import."""
    root = pathlib.Path(__file__).resolve().parent.parent
    ok = subprocess.run(
        [sys.executable, "-m", "importlinter.cli", "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok.returncode != 0 and "No module named importlinter.cli" in ok.stderr:
        ok = subprocess.run(
            ["lint-imports", "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120
        )
    assert ok.returncode == 0, ok.stdout + ok.stderr

    copy = tmp_path / "src"
    subprocess.run(["cp", "-r", str(SRC.parent), str(copy)], check=True)
    (copy / "tlsconnect" / "_model.py").write_text(
        (SRC / "_model.py").read_text() + "\nfrom . import _plan  # an upward import\n"
    )
    (tmp_path / "pyproject.toml").write_text((root / "pyproject.toml").read_text())
    broken = subprocess.run(
        ["lint-imports", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PYTHONPATH": str(copy),
            "PATH": "/usr/bin:/bin:" + str(pathlib.Path(sys.executable).parent),
        },
    )
    assert broken.returncode != 0
    assert "_model -> tlsconnect._plan" in broken.stdout


def test_all_is_made_from_the_one_export_table_and_type_checkers_see_the_same_names():
    assert tlsconnect.__all__ == sorted([*tlsconnect._EXPORTS, "__version__"])
    tree = _tree(SRC / "__init__.py")
    checked = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    checked |= {alias.asname or alias.name for alias in statement.names}
    assert checked == set(tlsconnect._EXPORTS)
    for name, module in tlsconnect._EXPORTS.items():
        assert getattr(tlsconnect, name).__module__.startswith("tlsconnect"), (name, module)


def test_the_shared_options_are_listed_once_and_every_entry_point_takes_them():
    tree = _tree(SRC / "_plan.py")
    (typed,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name == "TLSOptions"
    ]
    keys = [s.target.id for s in typed.body if isinstance(s, ast.AnnAssign)]
    assert tuple(keys) == _plan.OPTION_NAMES
    assert list(inspect.signature(_plan.Options).parameters) == list(_plan.OPTION_NAMES)
    # Entry points that also take arbitrary driver options spell the options out.
    for function in (tlsconnect.params, tlsconnect.psycopg_params):
        parameters = inspect.signature(function).parameters
        assert all(
            parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in _plan.OPTION_NAMES
        ), function.__name__
    # The others take them through **options; an unknown one is a TypeError naming it.
    for function, args in (
        (tlsconnect.resolve, ("redis",)),
        (tlsconnect.ssl_context, ("redis",)),
        (tlsconnect.check, ("localhost:1",)),
        (tlsconnect.kafka_python_config, ("localhost:1",)),
    ):
        with pytest.raises(TypeError, match="sslmod"):
            function(*args, sslmod="verify-full")
        assert "key_password" in (function.__doc__ or "")


def test_every_driver_has_one_adapter_of_the_same_shape():
    assert set(ADAPTERS) == set(tlsconnect.Driver)
    assert tlsconnect.drivers() == tuple(sorted(d.value for d in tlsconnect.Driver))
    for driver, adapter in ADAPTERS.items():
        assert adapter.driver is driver
        assert list(inspect.signature(adapter.parse).parameters) == ["target", "options"]
        assert list(inspect.signature(adapter.build).parameters) == ["request"]


@pytest.mark.parametrize("path", MODULES + TESTING, ids=lambda p: str(p.relative_to(SRC)))
def test_no_assert_guards_and_no_catch_alls_disguised_as_a_tuple(path):
    """`python -O` removes asserts; `except (ValueError, Exception)` catches everything
    while claiming to catch one thing."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Assert):
            found.append(f"assert at line {node.lineno}")
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Tuple):
            names = {getattr(element, "id", "") for element in node.type.elts}
            if "Exception" in names or "BaseException" in names:
                found.append(f"except tuple with Exception at line {node.lineno}")
    assert found == []


def test_the_command_lines_driver_list_is_the_adapters():
    """`tlsconnect config --driver` takes its choices from _model (the parser is built
    before any adapter loads): they must be exactly the names config can write."""
    assert CONFIG_DRIVERS == DRIVERS


def test_the_check_command_loads_no_adapter_demo_or_provider_module():
    """`tlsconnect check` starts fast: the commands' heavy modules load on use."""
    code = (
        "import sys, tlsconnect._cli\n"
        "heavy = ['tlsconnect._configgen', 'tlsconnect._demo', 'tlsconnect._project',\n"
        "         'tlsconnect._fetch', 'tlsconnect._inspect', 'tlsconnect.adapters',\n"
        "         'tlsconnect.testing', 'cryptography', 'typing', 'dataclasses', 'shutil']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(SRC.parent), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
