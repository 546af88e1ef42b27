"""The key-value family's examples run as written, against the real servers."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from _kv_servers import REDIS_PASSWORD, REDIS_USER, KVServers, kv_servers

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="session")
def kv(pki, mariadb, request) -> KVServers:
    servers = kv_servers(pki, mariadb)
    request.addfinalizer(servers.stop)
    return servers


def run(*args: str, ok: bool = True) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_redis_example_pings_sync_and_asyncio(kv, pki):
    server = kv.redis("good")
    uri = f"rediss://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}"
    out = run(str(EXAMPLES / "redis_tls.py"), uri, str(pki.ca_pem))
    assert "redis: PING -> True, GET -> 'hello'" in out
    assert "redis.asyncio: PING -> True" in out and "over TLSv1" in out
    assert "valkey: PING -> True" in out


def test_redis_example_refuses_a_server_from_another_ca(kv, pki):
    server = kv.redis("othersigned")
    uri = f"rediss://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}"
    out = run(str(EXAMPLES / "redis_tls.py"), uri, str(pki.ca_pem), ok=False)
    assert "certificate verify failed" in out.lower()


def test_pymysql_example_verifies_identity_with_both_drivers(kv, pki):
    uri = kv.mariadb().url(**{"ssl-mode": "REQUIRED"})
    out = run(str(EXAMPLES / "pymysql_verify_identity.py"), uri, str(pki.ca_pem))
    assert "PyMySQL: avnadmin@% on 10.11" in out and "over TLSv1" in out
    assert "aiomysql: over TLSv1" in out


def test_pymysql_example_refuses_the_wrong_host_despite_ssl_mode_required(kv, pki):
    uri = kv.mariadb("wronghost").url(**{"ssl-mode": "REQUIRED"})
    out = run(str(EXAMPLES / "pymysql_verify_identity.py"), uri, str(pki.ca_pem), ok=False)
    assert "wrong.example.com" in out or "hostname" in out.lower()
