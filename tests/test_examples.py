"""The examples run as written, against the real servers."""

from __future__ import annotations

import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_psycopg_example_connects_with_verify_full_and_a_client_certificate(pg, pki):
    uri = f"postgresql://avnadmin@localhost:{pg.good.port}/defaultdb"
    out = run(str(EXAMPLES / "psycopg_verify_full.py"), uri, str(pki.creds_dir))
    assert "sslmode=verify-full" in out and "CN=avnadmin" in out


def test_kafka_example_produces_and_consumes_over_mutual_tls(kafka, pki):
    out = run(str(EXAMPLES / "kafka_mtls.py"), kafka.good.bootstrap, str(pki.creds_dir))
    assert "produced" in out and "consumed" in out and "over SSL" in out


def test_notebook_example_explains_each_decision(pki):
    out = run(str(EXAMPLES / "notebook_resolve.py"), str(pki.ca_pem))
    assert "trust=project+public" in out and "verifies NOTHING" in out
    assert "ConfigError:" in out and "avn service user-creds-download" in out
