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


# Why a surviving logic mutant is equivalent (changes nothing any input can show), as
# (the function's mutant name starts with, a regex the change matches, the reason).
# A survivor no rule explains is listed as "open": a gap for a test to close.
EQUIVALENT = [
    (
        "",
        r"\.split\(\s*(\"[^\"]*\")\s*,\s*1\)\[0\].*→.*\.split\(\s*\1\s*,\s*(2)?\s*\)\[0\]",
        "the first piece of a split is the same whatever the limit",
    ),
    ("_conninfo.x_split_hosts", r"strict=", "the two lists are made the same length just above"),
    (
        "_conninfo.x__parse_keywords",
        r"`(while i < n|while i < n and text\[i\]\.isspace\(\):|if i >= n:|break)` → `(while i <= n|while i <= n and|if i > n:|return)",
        "differs only at trailing whitespace, which parse_conninfo strips before",
    ),
    (
        "_conninfo.x__parse_keywords",
        r"`while i < n:` → `while i <= n:`",
        "at i == n the body skips nothing and breaks at once",
    ),
    (
        "_target.x__is_host_port",
        r"if \(\":\" in authority\) or True",
        "without ':', rpartition gives an empty separator, read as no port, as the else does",
    ),
    (
        "_target.x_redact_target",
        r"if first_at >= 0 or not",
        "without '@', the user-information path changes nothing, and a text with no '=' "
        "before its last character holds no password= to hide on either path",
    ),
    (
        "_conninfo.x__split_host_port",
        r"if end < 0:",
        "the part starts with '[', so ']' is never at 0",
    ),
    (
        "_target.x__redact_userinfo",
        r"→ `.*if i (> 0|>= 1)\]|rfind\(\"@\", None,|default=None\)",
        "a find from the first '@' never returns 0 (rest[first] is '@'), None as start "
        "or default is 0 or the end",
    ),
    (
        "_target.x_pg_target",
        r"\"gssencmode\", (None)?\)",
        "str(None) is 'none', not a GSS mode, as '' is not",
    ),
]


def explain(name: str, kind_: str, change: str) -> str:
    if kind_ == "message":
        return "message: wording only (the tests pin what a message names, not each word)"
    for prefix, pattern, reason in EQUIVALENT:
        if name.startswith(prefix) and re.search(pattern, change):
            return f"equivalent: {reason}"
    return "open"


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
        short = name.replace("tlsconnect.", "")
        k = kind(removed, added)
        rows.append((short, status, k, change, explain(short, k, change)))
    print("| mutant | status | kind | change | why it survives |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    counts: dict[tuple[str, str], int] = {}
    for _, status, k, _, _ in rows:
        counts[(status, k)] = counts.get((status, k), 0) + 1
    print(
        "\n" + ", ".join(f"{n} {s} ({k})" for (s, k), n in sorted(counts.items())), file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
