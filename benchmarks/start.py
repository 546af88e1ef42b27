"""Whole processes: the import, the cold start, and `tlsconnect check` against `psql`.

What CLI tools, cron jobs and serverless functions pay on every run. Each row runs both
sides as whole interpreters, interleaved, timed from outside.
"""

from __future__ import annotations

import os
import shutil
import sys

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
