"""Write the survivors of the last ``mutmut run`` into MUTMUT.md's table.

    mutmut run && python3 tests/mutations/mutmut_report.py > /tmp/survivors.md

Each surviving (or untested) mutant is listed with the line it changes and a kind:
``message`` when only the text of a string changes (an error's wording, which the tests
pin by its names and fixes, not word for word), ``logic`` otherwise (a gap in the tests
until a test kills it, or shown equivalent in MUTMUT.md).
"""

from __future__ import annotations

import re
import subprocess
import sys

STRING = re.compile(r"""(?:[rbf]?"(?:[^"\\]|\\.)*"|[rbf]?'(?:[^'\\]|\\.)*')""")


def changed_lines(name: str) -> tuple[list[str], list[str]]:
    shown = subprocess.run(
        ["mutmut", "show", name], capture_output=True, text=True, check=False
    ).stdout
    removed = [
        line[1:]
        for line in shown.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    added = [
        line[1:]
        for line in shown.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    return removed, added


def kind(removed: list[str], added: list[str]) -> str:
    if len(removed) != len(added):
        return "logic"
    for old, new in zip(removed, added, strict=True):
        # a string's text changed, or the message dropped (ConfigError(None)): message
        shape_old = re.sub(r"\((?:S|None)\)", "(M)", STRING.sub("S", old))
        shape_new = re.sub(r"\((?:S|None)\)", "(M)", STRING.sub("S", new))
        if shape_old != shape_new:
            return "logic"
    return "message"


def main() -> int:
    results = subprocess.run(
        ["mutmut", "results", "--all", "true"], capture_output=True, text=True, check=False
    ).stdout
    rows = []
    for line in results.splitlines():
        match = re.match(r"\s*(\S+): (survived|no tests)$", line)
        if not match:
            continue
        name, status = match.groups()
        removed, added = changed_lines(name)
        change = f"`{' / '.join(r.strip() for r in removed)[:90]}` → `{' / '.join(a.strip() for a in added)[:90]}`"
        rows.append((name.replace("tlsconnect.", ""), status, kind(removed, added), change))
    print("| mutant | status | kind | change |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    counts: dict[tuple[str, str], int] = {}
    for _, status, k, _ in rows:
        counts[(status, k)] = counts.get((status, k), 0) + 1
    print(
        "\n" + ", ".join(f"{n} {s} ({k})" for (s, k), n in sorted(counts.items())), file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
