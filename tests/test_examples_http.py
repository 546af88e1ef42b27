"""The HTTP examples run as written, against the HTTPS stand-ins (tlsconnect.testing's
HTTPSServer answering as OpenSearch and ClickHouse do) on loopback."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from http_standins import CLICKHOUSE_VERSION, OPENSEARCH_VERSION, clickhouse, opensearch

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def https(tlsconnect_https_server):
    return opensearch(clickhouse(tlsconnect_https_server))


def uri(server) -> str:
    return f"https://avnadmin:s3cret@localhost:{server.port}"


def test_http_clients_example_calls_with_httpx_requests_urllib3_and_aiohttp(https, pki):
    out = run(str(EXAMPLES / "http_clients.py"), uri(https), str(pki.creds_dir))
    assert "httpx: HTTP 200" in out and "requests: HTTP 200" in out
    assert "urllib3: HTTP 200" in out and "aiohttp: HTTP 200" in out
    assert "client certificate sent: True" in out
    assert len(https.requests) == 4
    assert all(r.peer_serial == pki.client.cert.serial_number for r in https.requests)
    assert all(r.headers["authorization"].startswith("Basic ") for r in https.requests)


def test_opensearch_example_reads_the_cluster_info(https, pki):
    out = run(str(EXAMPLES / "opensearch_client.py"), uri(https), str(pki.creds_dir))
    assert f"runs {OPENSEARCH_VERSION}" in out and "verify-full" in out


def test_opensearch_example_speaks_to_clickhouse_too(https, pki):
    out = run(
        str(EXAMPLES / "opensearch_client.py"), "--clickhouse", uri(https), str(pki.ca_pem.parent)
    )
    assert f"version {CLICKHOUSE_VERSION}" in out and "SELECT 1 = 1" in out
