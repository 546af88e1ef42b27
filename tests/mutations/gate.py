"""The mutation gate: each named mutation of a security-critical line must make at least
one of the tests it names fail.

Each entry of ``mutations.toml`` (beside this file) names a mutation, the file under
``src/tlsconnect/``, the exact text to replace (``old``, found exactly once), its
replacement (``new``) and the test node ids that must catch it. For each one, ``src/``
is copied to a temporary directory, the text replaced there, and pytest run on the named
tests only, with ``PYTHONPATH`` pointing at the mutated copy. First, the named tests are
run once against an unmutated copy: they must pass, or a mutant "caught" would mean
nothing.

    python3 tests/mutations/gate.py            # every mutation
    python3 tests/mutations/gate.py -k hostname  # those whose name contains "hostname"
    python3 tests/mutations/gate.py --list     # the table of mutations, without running

Exit status: 0 when every mutant is caught; 1 when one survives, when an ``old`` text is
no longer found exactly once (the list follows the code: re-anchor it), or when the
baseline fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (the test extra)
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIST = pathlib.Path(__file__).resolve().parent / "mutations.toml"
PACKAGE = "src/tlsconnect"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", "--no-header"]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str = ""


@dataclass
class Outcome:
    mutation: Mutation
    status: str  # "caught", "SURVIVED", "STALE", "ERROR"
    caught_by: list[str]
    detail: str
    seconds: float


class StaleAnchor(Exception):
    pass


def load(path: pathlib.Path = LIST) -> list[Mutation]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    mutations = []
    for entry in data["mutation"]:
        mutations.append(
            Mutation(
                name=entry["name"],
                file=entry["file"],
                old=entry["old"],
                new=entry["new"],
                tests=tuple(entry["tests"]),
                why=entry.get("why", ""),
            )
        )
    names = [m.name for m in mutations]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SystemExit(f"mutations.toml: names used twice: {duplicates}")
    for m in mutations:
        if not m.tests:
            raise SystemExit(f"mutations.toml: {m.name} names no test")
    return mutations


def copy_source(directory: pathlib.Path) -> pathlib.Path:
    """``src/`` copied into ``directory``; returns the copy's ``src``."""
    target = directory / "src"
    shutil.copytree(
        ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    return target


def apply(mutation: Mutation, src: pathlib.Path) -> None:
    """Replace ``old`` by ``new`` in the copy; ``old`` must be there exactly once."""
    path = src / "tlsconnect" / mutation.file
    if not path.is_file():
        raise StaleAnchor(f"mutation {mutation.name!r}: file {PACKAGE}/{mutation.file} not found")
    text = path.read_text(encoding="utf-8")
    count = text.count(mutation.old)
    if count != 1:
        found = "not found" if count == 0 else f"found {count} times"
        raise StaleAnchor(
            f"mutation {mutation.name!r}: in {PACKAGE}/{mutation.file}, the text to replace "
            f"is {found} (it must be there exactly once; re-anchor the entry):\n"
            f"    {mutation.old!r}"
        )
    path.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")


def environment(src: pathlib.Path, scratch: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    env["TLSCONNECT_CACHE_DIR"] = str(scratch / "cache")
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def imported_from(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import tlsconnect; print(tlsconnect.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return result.stdout.strip()


def run_tests(tests: tuple[str, ...], env: dict[str, str], timeout: float) -> tuple[int, str]:
    try:
        result = subprocess.run(
            [*PYTEST, *tests],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        return -1, f"timed out after {timeout:.0f} s\n{out}"
    return result.returncode, result.stdout + result.stderr


FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def check(mutation: Mutation, timeout: float) -> Outcome:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tlsconnect-mutant-") as scratch_name:
        scratch = pathlib.Path(scratch_name)
        src = copy_source(scratch)
        try:
            apply(mutation, src)
        except StaleAnchor as exc:
            return Outcome(mutation, "STALE", [], str(exc), time.monotonic() - started)
        env = environment(src, scratch)
        where = imported_from(env)
        if not where.startswith(str(src)):
            return Outcome(
                mutation, "ERROR", [], f"tlsconnect imported from {where}, not the mutated copy", 0
            )
        code, output = run_tests(mutation.tests, env, timeout)
    seconds = time.monotonic() - started
    if code == 0:
        return Outcome(mutation, "SURVIVED", [], output[-1500:], seconds)
    if code == 1:  # tests ran and some failed
        caught = FAILED.findall(output)
        return Outcome(mutation, "caught", caught or ["(see output)"], "", seconds)
    if code == -1:  # a timeout: the mutant hangs the tests, which is caught too
        return Outcome(mutation, "caught", ["(timed out)"], output[-500:], seconds)
    # 2: interrupted (a collection error), 4: usage (a node id that no longer exists),
    # 5: nothing collected: the entry is stale, not the mutant caught
    return Outcome(mutation, "ERROR", [], f"pytest exit {code}\n{output[-1500:]}", seconds)


def baseline(mutations: list[Mutation], timeout: float) -> tuple[bool, str]:
    tests = tuple(dict.fromkeys(t for m in mutations for t in m.tests))
    with tempfile.TemporaryDirectory(prefix="tlsconnect-baseline-") as scratch_name:
        scratch = pathlib.Path(scratch_name)
        src = copy_source(scratch)
        code, output = run_tests(tests, environment(src, scratch), timeout * 4)
    return code == 0, output[-3000:]


def table(outcomes: list[Outcome]) -> str:
    rows = [("mutation", "file", "result", "caught by", "s")]
    for o in outcomes:
        caught = o.caught_by[0] if o.caught_by else "-"
        more = f" (+{len(o.caught_by) - 1})" if len(o.caught_by) > 1 else ""
        rows.append((o.mutation.name, o.mutation.file, o.status, caught + more, f"{o.seconds:.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutations whose name contains this")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("GATE_JOBS", "2")))
    parser.add_argument("--timeout", type=float, default=120.0, help="per mutant, seconds")
    parser.add_argument("--list", action="store_true", help="print the mutations and stop")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)

    mutations = [m for m in load() if args.k in m.name]
    if args.list:
        for m in mutations:
            print(f"{m.name}  ({m.file})  {m.why}\n    tests: {', '.join(m.tests)}")
        return 0
    started = time.monotonic()
    if not args.no_baseline:
        ok, output = baseline(mutations, args.timeout)
        if not ok:
            print("baseline: the named tests fail on the unmutated code:\n" + output)
            return 1
        print(f"baseline: the named tests pass ({time.monotonic() - started:.0f} s)")
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda m: check(m, args.timeout), mutations))
    print(table(outcomes))
    bad = [o for o in outcomes if o.status != "caught"]
    for o in bad:
        print(f"\n{o.status}: {o.mutation.name}\n{o.detail}")
    caught = len(outcomes) - len(bad)
    print(
        f"\n{caught} of {len(outcomes)} mutants caught, in {time.monotonic() - started:.0f} s"
        + ("" if not bad else f"; {len(bad)} not: {', '.join(o.mutation.name for o in bad)}")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
