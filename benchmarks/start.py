"""Whole processes: the import, the cold start, and `tlsconnect check` against `psql`.

What CLI tools, cron jobs and serverless functions pay on every run. Each row runs both
sides as whole interpreters, interleaved, timed from outside.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from harness import Bench, Row

PUBLIC = "import tlsconnect; tlsconnect.ssl_context('opensearch')"
ONE_LINER = "import ssl, certifi; ssl.create_default_context(cafile=certifi.where())"


def import_row(bench: Bench) -> None:
    rounds = bench.rounds(40, 3)
    xs, ys = bench.interleave(
        bench.process("import tlsconnect", clean=True),
        bench.process("import ssl", clean=True),
        rounds,
    )
    row = bench.add(
        Row(
            "1",
            "import in a fresh interpreter (clean start)",
            "python -S -c 'import tlsconnect'",
            "python -S -c 'import ssl'",
            target="<= 1.25",
        ),
        xs,
        ys,
        target=1.25,
    )
    heavy = bench.python(
        "import sys, json, tlsconnect\n"
        "heavy = ('cryptography', 'psycopg', 'kafka', 'aiokafka', 'confluent_kafka', 'certifi')\n"
        "print(json.dumps({'m': sorted(m for m in sys.modules if m.split('.')[0] in heavy)}))",
        clean=True,
    )
    row.notes.append(
        "whole interpreter start included; cryptography, certifi or driver modules loaded by "
        f"import tlsconnect: {heavy['m'] or 'none'}"
    )
    if heavy["m"]:
        row.holds = False


def cold_start_rows(bench: Bench) -> None:
    # The first run on a machine builds certifi's hashed directory (once per version).
    bench.process(PUBLIC, clean=True)()
    directory = next(p for p in bench.cache_dir.iterdir() if p.name.startswith("ca-"))
    floor = (
        "import ssl; ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)"
        f".load_verify_locations(capath={str(directory)!r})"
    )
    rounds = bench.rounds(40, 3)
    xs, ys = bench.interleave(
        bench.process(PUBLIC, clean=True), bench.process(ONE_LINER, clean=True), rounds
    )
    row = bench.add(
        Row(
            "C1",
            "cold start: import + first public-CA context (clean start)",
            f"python -S -c {PUBLIC!r}",
            f"python -S -c {ONE_LINER!r}",
            target="<= 0.50",
        ),
        xs,
        ys,
        target=0.50,
    )
    fl, base = bench.interleave(
        bench.process(floor, clean=True), bench.process(ONE_LINER, clean=True), rounds
    )
    floor_ratio = sorted(fl)[len(fl) // 2] / sorted(base)[len(base) // 2]
    row.extra["floor_ratio"] = floor_ratio
    row.notes.append(
        f"the floor, a process that only imports ssl and loads the hashed directory "
        f"(capath=), is {floor_ratio:.2f} of the one-liner; tlsconnect's own imports and "
        "plan are the rest"
    )
    xs, ys = bench.interleave(
        bench.process(PUBLIC, clean=False), bench.process(ONE_LINER, clean=False), rounds
    )
    here = bench.add(
        Row(
            "C1b",
            "the same, as this machine starts Python (info)",
            f"python -c {PUBLIC!r}",
            f"python -c {ONE_LINER!r}",
            target="(no target)",
        ),
        xs,
        ys,
    )
    empty = bench.process("pass", clean=False)
    start = sorted(empty() for _ in range(bench.rounds(15, 1)))
    here.notes.append(
        f"an empty interpreter takes {start[len(start) // 2]:.1f} ms here: site-packages "
        "holds start-up hooks (.pth files) that import certifi and much of the standard "
        "library in every process, which both sides pay; row C1 leaves them out"
    )

    ca, cert, key = (str(bench.paths[k]) for k in ("ca", "cert", "key"))
    ours = (
        f"import tlsconnect; tlsconnect.ssl_context('kafka', ca={ca!r}, cert={cert!r}, key={key!r})"
    )
    hand = (
        f"import ssl; c = ssl.create_default_context(cafile={ca!r}); "
        f"c.load_cert_chain({cert!r}, {key!r})"
    )
    xs, ys = bench.interleave(
        bench.process(ours, clean=True), bench.process(hand, clean=True), rounds
    )
    row = bench.add(
        Row(
            "C2",
            "cold start, project CA + client cert (clean start)",
            "import tlsconnect; ssl_context('kafka', ca=, cert=, key=)",
            "import ssl; create_default_context(cafile=) + load_cert_chain()",
            target="(report)",
        ),
        xs,
        ys,
    )
    crypto, base = bench.interleave(
        bench.process(
            "import cryptography.x509, cryptography.hazmat.primitives.serialization", clean=True
        ),
        bench.process("pass", clean=True),
        rounds,
    )
    import_cost = sorted(crypto)[len(crypto) // 2] - sorted(base)[len(base) // 2]
    row.extra["cryptography_import_ms"] = import_cost
    row.notes.append(
        f"bounded by importing cryptography ({import_cost:.1f} ms here), which parsing and "
        "checking the material needs (expiry, key size, the pair's match); the rest is the "
        "same OpenSSL work on both sides"
    )


def check_row(bench: Bench) -> None:
    row = Row(
        "8",
        "check PostgreSQL, whole process",
        "tlsconnect check postgres://... --ca --cert --key",
        "psql with sslmode=verify-full and the same files, SELECT 1",
        target="(report)",
    )
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    if not os.access(psql, os.X_OK):
        row.status = "skipped: no psql"
        bench.rows.append(row)
        return
    server = bench.postgres()
    ca, cert, key = (str(bench.paths[k]) for k in ("ca", "cert", "key"))
    ours = [
        sys.executable,
        "-m",
        "tlsconnect",
        "check",
        f"postgres://avnadmin@localhost:{server.port}/defaultdb",
        "--ca",
        ca,
        "--cert",
        cert,
        "--key",
        key,
    ]
    conninfo = (
        f"host=localhost port={server.port} dbname=defaultdb user=avnadmin "
        f"sslmode=verify-full sslrootcert={ca} sslcert={cert} sslkey={key}"
    )
    theirs = [psql, "-X", "-q", "-A", "-t", conninfo, "-c", "SELECT 1"]
    codes: dict[str, set[int]] = {"tlsconnect": set(), "psql": set()}

    def run(argv: list[str], who: str) -> float:
        elapsed, code = bench.wall(argv)
        codes[who].add(code)
        return elapsed

    xs, ys = bench.interleave(
        lambda: run(ours, "tlsconnect"), lambda: run(theirs, "psql"), bench.rounds(20, 1)
    )
    bench.add(row, xs, ys)
    row.extra["exit_codes"] = {k: sorted(v) for k, v in codes.items()}
    row.notes.append(
        "tlsconnect starts an interpreter, verifies, sends a startup message and explains the "
        "result; psql is a C program that logs in and runs a query"
    )
    if codes["tlsconnect"] != {0} or codes["psql"] != {0}:
        row.status = f"error: exit codes {row.extra['exit_codes']}"


#: The probe `tlsconnect check` makes of PostgreSQL, written by hand (the row's yardstick).
BY_HAND = str(Path(__file__).resolve().parent / "pg_probe_by_hand.py")


_CRYPTOGRAPHY = ("cryptography", "_cffi_backend")


def _import_costs(bench: Bench, ours: list[str], theirs: list[str], env: dict[str, str]) -> dict:
    """What ``ours`` imports beyond ``theirs``, by ``python -X importtime`` (self times,
    the median of three runs each): the total and the ten costliest modules, in ms."""

    def self_times(argv: list[str]) -> dict[str, float]:
        runs: dict[str, list[float]] = {}
        for _ in range(3):
            result = subprocess.run(
                [argv[0], "-X", "importtime", *argv[1:]],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                cwd=bench.work,
                timeout=120,
            )
            for line in result.stderr.splitlines():
                match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
                if match:
                    runs.setdefault(match.group(2), []).append(int(match.group(1)) / 1000)
        return {name: statistics.median(values) for name, values in runs.items()}

    ours_times, theirs_times = self_times(ours), self_times(theirs)
    extra = {k: v for k, v in ours_times.items() if k not in theirs_times}
    top = sorted(extra.items(), key=lambda item: -item[1])[:10]
    return {
        "imports_ms": round(sum(ours_times.values()), 1),
        "baseline_imports_ms": round(sum(theirs_times.values()), 1),
        "extra_imports_ms": round(sum(extra.values()), 1),
        "costliest_extra": {name: round(ms, 1) for name, ms in top},
        "cryptography_ms": round(
            sum(v for k, v in extra.items() if k.split(".")[0] in _CRYPTOGRAPHY), 1
        ),
    }


def check_probe_rows(bench: Bench) -> None:
    """Row 8b: `tlsconnect check` on PostgreSQL against the same probe by hand (bare ssl
    and socket), both clean starts, with psql beside them; 8c: the same with --ca."""
    server = bench.postgres()
    ca = str(bench.paths["ca"])
    uri = f"postgres://tlsuser@localhost:{server.port}/defaultdb"
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    conninfo = (
        f"host=localhost port={server.port} dbname=defaultdb user=tlsuser "
        f"sslmode=verify-full sslrootcert={ca}"
    )
    # System trust pointed at the test CA: neither side is given material to check.
    system = dict(bench.clean_env, SSL_CERT_FILE=ca)
    python = [sys.executable, "-S"]
    cases = [
        (
            "8b",
            "check PostgreSQL, whole process, trust=system (no material given)",
            [*python, "-m", "tlsconnect", "check", uri, "--trust", "system"],
            [*python, BY_HAND, "localhost", str(server.port), "system"],
        ),
        (
            "8c",
            "check PostgreSQL, whole process, --ca (the CA's own checks need cryptography)",
            [*python, "-m", "tlsconnect", "check", uri, "--ca", ca],
            [*python, BY_HAND, "localhost", str(server.port), ca],
        ),
    ]
    rounds = bench.rounds(20, 1)
    for number, name, ours, theirs in cases:
        codes: dict[str, set[int]] = {"tlsconnect": set(), "by hand": set(), "psql": set()}

        def run(argv: list[str], who: str, codes: dict[str, set[int]] = codes) -> float:
            elapsed, code = bench.wall(argv, system)
            codes[who].add(code)
            return elapsed

        xs, ys = bench.interleave(
            lambda ours=ours: run(ours, "tlsconnect"),
            lambda theirs=theirs: run(theirs, "by hand"),
            rounds,
        )
        row = bench.add(
            Row(
                number,
                name,
                " ".join(["python -S -m tlsconnect check", *ours[5:]]),
                "the same probe by hand: benchmarks/pg_probe_by_hand.py (SSLRequest, "
                "verifying handshake, startup message)",
                target="<= 1.3" if number == "8b" else "(report)",
            ),
            xs,
            ys,
            target=1.3 if number == "8b" else None,
        )
        # The ratio pair by pair (each round runs both back to back), as farm-bench takes
        # it: on a shared machine whose speed drifts, the ratio of medians is not.
        pairs = sorted(x / y for x, y in zip(xs, ys, strict=True))
        row.extra["ratio_of_medians"] = row.ratio
        row.ratio = statistics.median(pairs)
        if number == "8b":
            row.holds = row.ratio <= 1.3
        if os.access(psql, os.X_OK):
            psql_ms = [
                run([psql, "-X", "-q", "-A", "-t", conninfo, "-c", "SELECT 1"], "psql")
                for _ in range(rounds)
            ]
            row.extra["psql_ms"] = statistics.median(psql_ms)
            row.notes.append(f"psql (C, logs in and runs SELECT 1): {row.extra['psql_ms']:.1f} ms")
        row.extra["exit_codes"] = {k: sorted(v) for k, v in codes.items()}
        if codes["tlsconnect"] != {0} or codes["by hand"] != {0}:
            row.status = f"error: exit codes {row.extra['exit_codes']}"
            continue
        if row.holds is False or number == "8c":
            costs = _import_costs(bench, ours, theirs, system)
            row.extra["import_costs"] = costs
            row.notes.append(
                f"bounded by imports, measured with python -X importtime: "
                f"{costs['extra_imports_ms']} ms of imports the script does not make, "
                f"{costs['cryptography_ms']} ms of them cryptography's; costliest: "
                + ", ".join(f"{k} {v} ms" for k, v in list(costs["costliest_extra"].items())[:5])
            )
