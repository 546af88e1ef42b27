"""tlsconnect against the hand-written equivalent, side by side, in one run.

    python benchmarks/run.py            # full run: the table in benchmarks/README.md
    python benchmarks/run.py --quick    # every row once, quickly (CI: exit 0 only if all worked)
    python benchmarks/run.py --rows C1,2

Each row times tlsconnect and the code users write by hand in the same run, interleaved
(one of each per round), and reports medians and their ratio (tlsconnect / hand-written;
below 1 is faster). The rows live in modules by what they measure: `start.py` (whole
processes: import, cold start, check), `contexts.py` (contexts in a running process),
`drivers.py` (driver parameters and real connections), `direct_tls.py` (PostgreSQL's
direct TLS against the SSLRequest, through a delaying proxy), `project.py` (a whole project's
check, through `project_check.py`, which also runs alone), `growth.py` (many builds in
one process); `harness.py` holds what they share. It starts its own PostgreSQL (ssl=on)
and Kafka broker (tansu behind stunnel, client certificates required) from
`tlsconnect.testing` with a fresh PKI, and stops them by PID at the end. Figures go to
benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contexts
import direct_tls
import drivers
import growth
import project
import start
from harness import HERE, Bench, machine, table

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"kafka(\..*)?")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"importlib\.resources.*")

#: Every row, in the order of the table: (the number(s) --rows selects it by, the step).
STEPS: list[tuple[str, Callable[[Bench], None]]] = [
    ("1", start.import_row),
    ("C1", start.cold_start_rows),
    ("2", contexts.project_rows),
    ("3", contexts.public_rows),
    ("5", drivers.psycopg_params_rows),
    ("6", drivers.psycopg_connect_row),
    ("7", drivers.kafka_row),
    ("DT", direct_tls.direct_tls_rows),
    ("8", start.check_row),
    ("8b", start.check_probe_rows),
    ("P", project.project_row),
    ("9", growth.growth_row),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="every row once, quickly (CI)")
    parser.add_argument(
        "--json",
        type=Path,
        default=HERE / "results" / "latest.json",
        help="where to write the figures (default: benchmarks/results/latest.json)",
    )
    parser.add_argument("--rows", help="comma-separated steps to run (default: all)")
    args = parser.parse_args(argv)

    bench = Bench(quick=args.quick)
    wanted = set(args.rows.split(",")) if args.rows else None
    started = time.perf_counter()
    try:
        for number, step in STEPS:
            if wanted is None or number in wanted:
                print(f"row {number} ...", flush=True)
                bench.run_row(number, step)
    finally:
        bench.stop()
    info = machine()
    print()
    print(
        f"Machine: {info['cpu']}, {info['cpus']} CPUs, {info['system']}, Python "
        f"{info['python']}, {info['openssl']}"
    )
    print(f"Mode: {'quick' if args.quick else 'full'}; {time.perf_counter() - started:.0f} s")
    print()
    print(table(bench.rows))
    print()
    for row in bench.rows:
        for note in row.notes:
            print(f"- row {row.number}: {note}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "mode": "quick" if args.quick else "full",
                "machine": info,
                "rows": [asdict(row) for row in bench.rows],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten: {args.json}")
    failed = [row for row in bench.rows if row.status.startswith("error")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
