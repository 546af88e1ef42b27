"""Typed users: a program that uses tlsconnect.X passes mypy --strict, mypy sees each entry
point's real keywords (a misspelt one is an error, not swallowed by **options), and
examples/typed_app.py uses every public name and runs."""

from __future__ import annotations

import ast
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import tlsconnect

ROOT = pathlib.Path(__file__).resolve().parent.parent
TYPED_APP = ROOT / "examples" / "typed_app.py"

#: A user's program, as one writes it from the README.
GOOD = """
import ssl
from typing import Any

import tlsconnect
from tlsconnect import Credentials, TLSPlan

def connect_params(uri: str, creds: Credentials) -> dict[str, Any]:
    return tlsconnect.psycopg_params(uri, credentials=creds, sslmode="verify-full")

ctx: ssl.SSLContext = tlsconnect.ssl_context("redis", trust=tlsconnect.Trust.PUBLIC)
plan: TLSPlan = tlsconnect.resolve("pg", ca="ca.pem", sslmode=tlsconnect.SSLMode.VERIFY_CA)
report: tlsconnect.CheckReport = tlsconnect.check("db:5432", service="postgresql", ca=b"...")
kafka: dict[str, Any] = tlsconnect.kafka_python_config("k:1", ca="ca.pem", sasl_username="u")
names: tuple[str, ...] = tlsconnect.drivers()
try:
    tlsconnect.params("asyncpg", "postgres://h/db", key_password=b"pw")
except tlsconnect.ConfigError as error:
    print(error)
"""

#: Mistakes a type checker must catch, each with the error mypy gives.
BAD = {
    'tlsconnect.ssl_context("redis", sslmod="verify-full")': (
        'Unexpected keyword argument "sslmod" for "ssl_context"'
    ),
    'tlsconnect.resolve("pg", ca=42)': 'Argument "ca" to "resolve" has incompatible type "int"',
    'tlsconnect.aiokafka_config("k:1", trust=1)': (
        'Argument "trust" to "aiokafka_config" has incompatible type "int"'
    ),
    "tlsconnect.no_such_name": 'Module has no attribute "no_such_name"',
}


def test_mypy_strict_accepts_a_typed_program_and_catches_its_mistakes(tmp_path):
    (tmp_path / "good.py").write_text(textwrap.dedent(GOOD))
    bad = "import tlsconnect\n\n" + "\n".join(BAD) + "\n"
    (tmp_path / "bad.py").write_text(bad)
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",  # tlsconnect is checked as a library is
            "--cache-dir",
            str(tmp_path / "cache"),
            "good.py",
            "bad.py",
            str(TYPED_APP),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    out = result.stdout + result.stderr
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert all(line.startswith("bad.py:") for line in errors), out
    for number, (line, message) in enumerate(BAD.items(), start=3):
        assert any(e.startswith(f"bad.py:{number}:") and message in e for e in errors), (
            line,
            out,
        )
    assert "explicitly export" not in out


def test_the_typed_example_uses_every_public_name():
    tree = ast.parse(TYPED_APP.read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "tlsconnect"
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "tlsconnect":
            used |= {alias.name for alias in node.names}
    assert set(tlsconnect.__all__) - used == set()


def test_the_typed_example_checks_a_server_and_builds_every_client_s_settings(pg, pki):
    uri = f"postgresql://avnadmin@localhost:{pg.good.port}/defaultdb"
    result = subprocess.run(
        [sys.executable, str(TYPED_APP), uri, str(pki.creds_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check: OK, verified" in result.stdout
    assert re.search(r"contexts: redis \(CERT_REQUIRED\), kafka \(CERT_REQUIRED\)", result.stdout)
    assert "parameters: aiokafka, asyncpg, confluent-kafka, kafka-python, psycopg" in result.stdout


def test_the_typed_example_reports_a_server_it_cannot_verify(pg, pki):
    uri = f"postgresql://avnadmin@localhost:{pg['othersigned'].port}/defaultdb"
    result = subprocess.run(
        [sys.executable, str(TYPED_APP), uri, str(pki.creds_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "untrusted_issuer:" in result.stdout
    assert "check: FAILED: untrusted_issuer" in result.stdout
