"""Concurrency and faults: eight threads building contexts and driver parameters at once,
with the same and with different material, get correct results and never race on the
shared private files; a PostgreSQL restart between two connections made with the same
parameters is survived by the second."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import tlsconnect

THREADS = 8
ROUNDS = 6


@pytest.fixture(scope="module")
def materials(pki):
    """Four different client certificates from the project CA, given as text."""
    leaves = [pki.client] + [
        pki.issue_cert(f"concurrent-{n}", common_name=f"concurrent-{n}", is_client=True)
        for n in range(3)
    ]
    return [
        {
            "ca": pki.ca.cert_pem.decode(),
            "cert": leaf.cert_pem.decode(),
            "key": leaf.key_pem.decode(),
        }
        for leaf in leaves
    ]


def build_and_check(material: dict[str, str], barrier: threading.Barrier) -> int:
    """Build every output for ``material`` ROUNDS times; check each file it names."""
    barrier.wait(timeout=30)
    checked = 0
    for _ in range(ROUNDS):
        context = tlsconnect.ssl_context("kafka", **material)
        assert context.verify_mode.name == "CERT_REQUIRED"
        params = tlsconnect.psycopg_params("host=localhost", **material)
        kafka = tlsconnect.kafka_python_config("localhost:9092", **material)
        confluent = tlsconnect.confluent_kafka_config("localhost:9092", **material)
        assert kafka["ssl_context"] is not context
        assert confluent["ssl.certificate.pem"] == material["cert"]
        with open(params["sslrootcert"], encoding="ascii") as handle:
            assert handle.read() == material["ca"]
        with open(params["sslcert"], encoding="ascii") as handle:
            cert = x509.load_pem_x509_certificate(handle.read().encode())
        with open(params["sslkey"], "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        assert cert.public_key().public_bytes(der, public) == key.public_key().public_bytes(
            der, public
        )
        assert cert.public_bytes(serialization.Encoding.PEM).decode() == material["cert"]
        checked += 1
    return checked


@pytest.mark.parametrize("mix", ["same", "different"])
def test_eight_threads_build_contexts_and_params_at_once(materials, mix):
    from tlsconnect import _cache

    _cache.clear()  # every thread starts cold: parsing and file writing overlap
    chosen = [
        materials[0] if mix == "same" else materials[n % len(materials)] for n in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda m: build_and_check(m, barrier), chosen))
    assert results == [ROUNDS] * THREADS


def test_connections_from_eight_threads_each_present_their_own_certificate(pg, materials, pki):
    """Real connections from eight threads at once, half with one certificate, half with
    another: each backend sees the certificate its thread was given."""
    barrier = threading.Barrier(THREADS)
    expected = [
        x509.load_pem_x509_certificate(m["cert"].encode()).serial_number for m in materials[:2]
    ]

    def connect(n: int) -> int:
        params = tlsconnect.psycopg_params(
            f"host=localhost port={pg.good.port} dbname=defaultdb user=tlsuser", **materials[n % 2]
        )
        barrier.wait(timeout=30)
        with psycopg.connect(**params, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            ).fetchone()
        assert row is not None
        return int(row[0])

    with ThreadPoolExecutor(THREADS) as pool:
        serials = list(pool.map(connect, range(THREADS)))
    assert serials == [expected[n % 2] for n in range(THREADS)]


def test_a_server_restart_between_two_connections_is_survived_by_the_second(pg, pki):
    server = pg.start("restart", pki.server.cert_path, pki.server.key_path)
    params = tlsconnect.psycopg_params(
        f"host=localhost port={server.port} dbname=defaultdb user=avnadmin",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
    )
    first = psycopg.connect(**params, connect_timeout=10)
    before = first.execute("SELECT pg_postmaster_start_time()").fetchone()
    old_pid = server.process.pid
    server.restart()  # fast shutdown (SIGINT), then the same data directory and port
    assert server.process.pid != old_pid
    with pytest.raises(psycopg.OperationalError):  # the open connection did not survive
        first.execute("SELECT 1")
    first.close()
    with psycopg.connect(**params, connect_timeout=10) as second:
        row = second.execute(
            "SELECT pg_postmaster_start_time(), current_user, ssl FROM pg_stat_ssl "
            "WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None and before is not None
    assert row[0] > before[0] and row[1:] == ("avnadmin", True)
