"""What every benchmark row shares: the Row record, timing, interleaving, whole-process
runs, the machine line and the Markdown table.

Whole processes are timed from outside (fork, exec, interpreter start, imports and the
work, as a user's CLI run or cron job pays them) with the bytecode compiled beforehand, as
after `pip install`. Two environments are offered: the interpreter as this machine starts
it (its `site` start-up, with whatever .pth hooks the machine has), and a clean one
(`python -S` with site-packages on PYTHONPATH: no start-up hooks, as on an ordinary
machine), so that a hook that imports half the standard library at every start cannot hide
what tlsconnect itself costs.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import site
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Measure the checkout this file is in, whatever copy of tlsconnect is installed.
sys.path.insert(0, str(ROOT / "src"))

from tlsconnect import testing  # noqa: E402


@dataclass
class Row:
    number: str
    name: str
    tlsconnect: str  # what the tlsconnect side does
    baseline: str  # what it is compared with
    unit: str = "ms"
    tls_value: float | None = None
    base_value: float | None = None
    ratio: float | None = None
    target: str = ""
    holds: bool | None = None
    status: str = "ok"  # ok | skipped: ... | error: ...
    samples: int = 0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Bench:
    """One run: a fresh PKI, servers started on demand and stopped by PID at the end."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.rows: list[Row] = []
        self.work = Path(tempfile.mkdtemp(prefix="tlsconnect-bench-"))
        # A cache of our own: the run never depends on, nor changes, the user's ~/.cache.
        self.cache_dir = self.work / "cache"
        os.environ["TLSCONNECT_CACHE_DIR"] = str(self.cache_dir)
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        self.env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
        # Bytecode as after `pip install`: compiled once here, read by every run.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "tlsconnect")],
            check=True,
        )
        self.clean_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *site.getsitepackages()]),
            "TLSCONNECT_CACHE_DIR": str(self.cache_dir),
        }
        self.pki = testing.make_pki(self.work / "pki")
        self.pg_farm: testing.PostgresFarm | None = None
        self.pg18_farm: testing.PostgresFarm | None = None
        self.kafka_farm: testing.KafkaFarm | None = None

    # -- helpers -------------------------------------------------------------------

    def rounds(self, full: int, quick: int = 1) -> int:
        return quick if self.quick else full

    def python(
        self, code: str, env: dict[str, str] | None = None, *, clean: bool = False
    ) -> dict[str, Any]:
        """Run ``code`` in a fresh interpreter (clean: ``-S``, no start-up hooks); it prints
        one JSON object last."""
        result = subprocess.run(
            [sys.executable, *(["-S"] if clean else []), "-c", code],
            capture_output=True,
            text=True,
            env=env or (self.clean_env if clean else self.env),
            cwd=self.work,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"subprocess failed:\n{result.stdout}\n{result.stderr}")
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    def wall(self, argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
        """A whole process, timed from outside: milliseconds, exit code."""
        started = time.perf_counter()
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env or self.env,
            cwd=self.work,
            timeout=120,
        )
        return (time.perf_counter() - started) * 1000, result.returncode

    def process(self, code: str, *, clean: bool) -> Callable[[], float]:
        """A timer for ``python -c code`` as a whole process, clean (-S) or as started here."""
        argv = [sys.executable, *(["-S"] if clean else []), "-c", code]
        env = self.clean_env if clean else self.env

        def run() -> float:
            elapsed, code_ = self.wall(argv, env)
            if code_ != 0:
                raise RuntimeError(f"{argv} exited {code_}")
            return elapsed

        return run

    @staticmethod
    def interleave(
        a: Callable[[], float], b: Callable[[], float], rounds: int
    ) -> tuple[list[float], list[float]]:
        """One of each per round, alternating which goes first."""
        xs, ys = [], []
        for number in range(rounds):
            if number % 2:
                ys.append(b())
                xs.append(a())
            else:
                xs.append(a())
                ys.append(b())
        return xs, ys

    @staticmethod
    def timed(function: Callable[[], object], before: Callable[[], object] | None = None) -> float:
        if before is not None:
            before()
        started = time.perf_counter()
        function()
        return (time.perf_counter() - started) * 1000

    def add(
        self,
        row: Row,
        tls: list[float],
        base: list[float],
        *,
        target: float | None = None,
    ) -> Row:
        row.tls_value = statistics.median(tls)
        row.base_value = statistics.median(base)
        row.samples = len(tls)
        row.ratio = row.tls_value / row.base_value if row.base_value else None
        if target is not None and row.ratio is not None:
            row.holds = row.ratio <= target
        self.rows.append(row)
        return row

    def run_row(self, number: str, function: Callable[[Bench], None]) -> None:
        started = time.perf_counter()
        count = len(self.rows)
        try:
            function(self)
        except Exception as exc:  # report it and go on with the other rows
            traceback.print_exc()
            self.rows.append(
                Row(number, f"row {number}", "", "", status=f"error: {type(exc).__name__}: {exc}")
            )
        for row in self.rows[count:]:
            print(f"  row {row.number}: {row.status} ({time.perf_counter() - started:.1f} s)")

    @property
    def paths(self) -> dict[str, Path]:
        return {
            "ca": self.pki.ca.cert_path,
            "cert": self.pki.client.cert_path,
            "key": self.pki.client.key_path,
        }

    def postgres(self) -> testing.PostgresServer:
        if self.pg_farm is None:
            self.pg_farm = testing.PostgresFarm(self.pki.ca.cert_path, self.pki.server_certs())
        return self.pg_farm.get("good")

    def postgres18(self) -> testing.PostgresServer:
        """PostgreSQL 18 (direct TLS), from scripts/install.sh's /opt/tlsconnect-pg18."""
        if self.pg18_farm is None:
            self.pg18_farm = testing.PostgresFarm(
                self.pki.ca.cert_path, self.pki.server_certs(), prefetch=False, version=18
            )
        return self.pg18_farm.get("good")

    def kafka(self) -> testing.KafkaServer:
        if self.kafka_farm is None:
            self.kafka_farm = testing.KafkaFarm(self.pki.ca.cert_path, self.pki.server_certs())
        return self.kafka_farm.get("good")

    def stop(self) -> None:
        for farm in (self.kafka_farm, self.pg_farm, self.pg18_farm):
            if farm is not None:
                farm.stop()  # stops every process it started, by PID
        shutil.rmtree(self.work, ignore_errors=True)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for module in ("tlsconnect", "certifi", "cryptography", "psycopg", "kafka"):
        try:
            versions[module] = str(__import__(module).__version__)
        except Exception:
            versions[module] = "?"
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "versions": versions,
    }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit != "ms":
        return f"{value:.2f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| # | what | tlsconnect | hand-written / reference | ratio | target | holds |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row.status != "ok":
            lines.append(f"| {row.number} | {row.name} | - | - | - | {row.target} | {row.status} |")
            continue
        unit = "" if row.unit == "ms" else f" {row.unit}"
        ratio = f"{row.ratio:.3f}" if row.ratio is not None and row.unit == "ms" else "-"
        holds = "-" if row.holds is None else ("yes" if row.holds else "NO")
        lines.append(
            f"| {row.number} | {row.name} | {fmt(row.tls_value, row.unit)}{unit} | "
            f"{fmt(row.base_value, row.unit)}{unit} | {ratio} | {row.target} | {holds} |"
        )
    return "\n".join(lines)
