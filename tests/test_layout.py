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


def test_every_public_name_is_an_export_type_checkers_see():
    """``__all__`` is a literal list (type checkers cannot read a computed one), each
    public name is re-exported as ``from ._x import name as name`` for type checkers, and
    the lazy table that serves them at run time names the same module."""
    tree = _tree(SRC / "__init__.py")
    (all_node,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(target, "id", None) for target in node.targets] == ["__all__"]
    ]
    assert isinstance(all_node, ast.List)
    literal = [ast.literal_eval(element) for element in all_node.elts]
    assert literal == tlsconnect.__all__
    assert len(set(literal)) == len(literal)
    assert set(literal) == {*tlsconnect._EXPORTS, "__version__"}
    re_exported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.dump(statement)
                for alias in statement.names:
                    assert alias.asname == alias.name, f"{alias.name}: re-export it 'as' itself"
                    re_exported[alias.name] = "." * statement.level + (statement.module or "")
    assert re_exported == tlsconnect._EXPORTS
    for name in tlsconnect._EXPORTS:
        assert getattr(tlsconnect, name).__module__.startswith("tlsconnect"), name


def test_dir_lists_the_public_names_and_no_helper_of_the_module_itself():
    names = dir(tlsconnect)
    assert set(tlsconnect.__all__) <= set(names)
    for helper in ("TYPE_CHECKING", "annotations"):
        assert helper not in names


#: Every public entry point that takes the shared options, with the names of its own
#: parameters besides them.
ENTRY_POINTS = {
    "resolve": ("service", "target"),
    "ssl_context": ("service", "shared"),
    "check": ("target", "service", "timeout", "user", "dbname", "driver"),
    "params": ("driver", "target", "driver_options"),
    "psycopg_params": ("conninfo", "overrides"),
    "kafka_python_config": (
        "bootstrap_servers",
        "sasl_mechanism",
        "sasl_username",
        "sasl_password",
    ),
    "confluent_kafka_config": (
        "bootstrap_servers",
        "sasl_mechanism",
        "sasl_username",
        "sasl_password",
    ),
    "aiokafka_config": ("bootstrap_servers", "sasl_mechanism", "sasl_username", "sasl_password"),
}


def _option_divergence(function: object, own: tuple[str, ...]) -> list[str]:
    """How ``function``'s signature departs from :class:`_plan.Options`, the one definition
    of the shared options: each must be keyword-only, in the same order, with the same
    annotation and default; nothing else but the function's ``own`` parameters."""
    shared = inspect.signature(_plan.Options).parameters
    parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    found: list[str] = []
    listed = [name for name in parameters if name in shared]
    if listed != list(shared):
        found.append(f"options {listed}, expected {list(shared)}")
    for name, expected in shared.items():
        got = parameters.get(name)
        if got is None:
            continue
        if got.kind is not inspect.Parameter.KEYWORD_ONLY:
            found.append(f"{name} is {got.kind.description}, not keyword-only")
        if got.annotation != expected.annotation:
            found.append(f"{name}: {got.annotation!r}, expected {expected.annotation!r}")
        if got.default is not expected.default:
            found.append(f"{name} defaults to {got.default!r}, expected {expected.default!r}")
    others = [name for name in parameters if name not in shared]
    if others != list(own):
        found.append(f"other parameters {others}, expected {list(own)}")
    return found


def test_the_shared_options_are_defined_once_and_listed_once():
    assert tuple(inspect.signature(_plan.Options).parameters) == _plan.OPTION_NAMES
    assert tuple(_plan.Options.__slots__) == _plan.OPTION_NAMES
    # no second definition of them (such as a TypedDict) anywhere in the library
    for path in MODULES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef) and node.name != "Options":
                fields = {s.target.id for s in node.body if isinstance(s, ast.AnnAssign)}  # type: ignore[union-attr]
                assert not {"sslmode", "key_password"} <= fields, (path, node.name)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_spells_out_the_shared_options_as_they_are_defined(name):
    function = getattr(tlsconnect, name)
    assert _option_divergence(function, ENTRY_POINTS[name]) == []
    # help() and editors show the keywords, not **options
    shown = str(inspect.signature(function))
    assert "sslmode: 'str | SSLMode | None' = None" in shown, shown
    assert "**options" not in shown, shown
    assert "key_password" in (function.__doc__ or "")
    if name not in ("params", "psycopg_params"):  # the two that pass driver options on
        # an unknown option is Python's own TypeError, naming it
        with pytest.raises(TypeError, match="sslmod"):
            function("redis" if name in ("resolve", "ssl_context") else "localhost:1", sslmod="x")


def test_a_signature_that_departs_from_the_shared_options_is_caught():
    def typo(service: str, *, sslmode: str | None = None, trust=None, **rest): ...

    def positional(service, *args, **kwargs): ...

    # the shared options exactly, but sslmode may be given by position
    shared = list(inspect.signature(_plan.Options).parameters.values())
    positional.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("service", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            shared[0].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *shared[1:],
        ]
    )

    found = _option_divergence(typo, ("service",))
    assert any(text.startswith("options ['sslmode', 'trust']") for text in found), found
    assert "sslmode: 'str | None', expected 'str | SSLMode | None'" in found
    assert "other parameters ['service', 'rest'], expected ['service']" in found
    assert _option_divergence(positional, ("service",)) == [
        "sslmode is positional or keyword, not keyword-only"
    ]


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
