"""Session fixtures: generated PKI + real TLS servers on loopback.

Servers are started lazily (first use) and never skipped: a missing binary
is a hard failure with a clear message (CI installs everything).
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Callable, Iterator

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from pki import PKI, Issued, make_pki
from servers import (
    HAS_IPV6,
    KafkaFarm,
    PostgresFarm,
    TLSServer,
)


@pytest.fixture(scope="session", autouse=True)
def _isolate_libpq_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep stray ~/.postgresql files and PG* env vars out of every test.

    Points PGSSLCERT/PGSSLKEY/PGSSLROOTCERT/PGSSLCRL/PGPASSFILE/PGSERVICEFILE
    at nonexistent paths; tests pass sslcert/sslkey/sslrootcert explicitly.
    """
    nowhere = tmp_path_factory.mktemp("nowhere") / "does-not-exist"
    mp = pytest.MonkeyPatch()
    for var in list(os.environ):
        if var.startswith("PG"):
            mp.delenv(var)
    for var in (
        "PGSSLCERT",
        "PGSSLKEY",
        "PGSSLROOTCERT",
        "PGSSLCRL",
        "PGPASSFILE",
        "PGSERVICEFILE",
    ):
        mp.setenv(var, str(nowhere))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    """The session PKI (see tests/pki.py: ca, other_ca, server, wronghost, ...)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def _server_certs(pki: PKI) -> dict[str, tuple[pathlib.Path, pathlib.Path]]:
    return {name: (leaf.cert_path, leaf.key_path) for name, leaf in pki.server_pairs.items()}


@pytest.fixture(scope="session")
def pg(pki: PKI) -> Iterator[PostgresFarm]:
    """Lazy PostgreSQL instances: ``pg.good``, ``pg["expired"]``, ``pg.get("plaintext")``."""
    farm = PostgresFarm(pki.ca.cert_path, _server_certs(pki))
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def pg_server(pg: PostgresFarm) -> Callable:
    """Factory: ``pg_server("wronghost")`` -> started PostgresServer."""
    return pg.get


@pytest.fixture(scope="session")
def kafka(pki: PKI) -> Iterator[KafkaFarm]:
    """Lazy TLS Kafka front-ends: ``kafka.good.bootstrap``, ``kafka["expired"]`` ..."""
    farm = KafkaFarm(pki.ca.cert_path, _server_certs(pki))
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def kafka_server(kafka: KafkaFarm) -> Callable:
    """Factory: ``kafka_server("othersigned")`` -> started KafkaServer."""
    return kafka.get


@pytest.fixture(scope="session")
def tls_server(pki: PKI) -> Iterator[Callable[..., TLSServer]]:
    """Factory returning a started :class:`TLSServer` (stopped at session end).

    ``tls_server(cert="good", host="127.0.0.1", require_client_cert=False,
    client_ca=None, **TLSServer kwargs)``; ``cert`` is a name from
    ``pki.server_pairs`` (good/wronghost/expired/othersigned/dnsonly), an
    :class:`Issued`, or a ``(cert_path, key_path)`` tuple. With
    ``require_client_cert=True`` the client CA defaults to the project CA.
    """
    started: list[TLSServer] = []

    def factory(
        cert="good", *, require_client_cert: bool = False, client_ca=None, **kw
    ) -> TLSServer:
        if isinstance(cert, str):
            leaf = pki.server_pairs[cert]
            cert_path, key_path = leaf.cert_path, leaf.key_path
        elif isinstance(cert, Issued):
            cert_path, key_path = cert.cert_path, cert.key_path
        else:
            cert_path, key_path = cert
        if require_client_cert and client_ca is None:
            client_ca = pki.ca.cert_path
        srv = TLSServer(
            cert_path, key_path, require_client_cert=require_client_cert, client_ca=client_ca, **kw
        )
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()


@pytest.fixture(scope="session")
def has_ipv6() -> bool:
    """True when ::1 can be bound here (servers then also listen on ::1)."""
    return HAS_IPV6
