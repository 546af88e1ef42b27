"""pytest fixtures for :mod:`tlsconnect.testing`, registered as a ``pytest11`` plugin.

Installed with tlsconnect, pytest loads it by itself (``-p no:tlsconnect.testing.pytest_plugin``
turns it off); else list it in a ``conftest.py``: ``pytest_plugins =
["tlsconnect.testing.pytest_plugin"]``. Nothing starts, and nothing heavy is imported,
unless a test uses a fixture; each server starts on first use and stops at the end of
the session.

* ``tlsconnect_pki`` - the session's :class:`~tlsconnect.testing.PKI`.
* ``tlsconnect_postgres`` - PostgreSQL with the good server certificate
  (``tlsconnect_postgres_farm["expired"]``, ``["wronghost"]``, ... for the others).
* ``tlsconnect_postgres18_farm`` - the same instances of PostgreSQL 18, which also accepts
  direct TLS (``sslnegotiation=direct``).
* ``tlsconnect_kafka`` - the Kafka-protocol broker behind TLS with client certificates
  required (``tlsconnect_kafka_farm`` for the other certificates).
* ``tlsconnect_redis`` - Redis on a TLS port, password ``tlsconnect_redis.password``,
  client certificates optional.
* ``tlsconnect_mariadb`` - MariaDB requiring TLS.
* ``tlsconnect_tls_server``, ``tlsconnect_https_server`` - in-process servers asking for
  (not requiring) a client certificate; one per session, but their routes and records
  are cleared after each test, so these two are per-test fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from . import (
        PKI,
        HTTPSServer,
        KafkaFarm,
        KafkaServer,
        MariaDBServer,
        PostgresFarm,
        PostgresServer,
        RedisServer,
        TLSServer,
    )

REDIS_PASSWORD = "tlsconnect-redis-s3cret"


@pytest.fixture(scope="session")
def tlsconnect_pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    """The session's project PKI: ``ca``, ``server``, ``client``, ``creds_dir``, and the
    broken variants (``wronghost``, ``expired``, ``othersigned``, ...)."""
    from . import make_pki

    return make_pki(tmp_path_factory.mktemp("tlsconnect-pki"))


@pytest.fixture(scope="session")
def tlsconnect_postgres_farm(tlsconnect_pki: PKI) -> Iterator[PostgresFarm]:
    """PostgreSQL instances by server-certificate name, started on first use:
    ``farm.good``, ``farm["expired"]``, ``farm.get("plaintext")``."""
    from . import PostgresFarm

    farm = PostgresFarm(tlsconnect_pki.ca_pem, tlsconnect_pki.server_certs())
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def tlsconnect_postgres18_farm(tlsconnect_pki: PKI) -> Iterator[PostgresFarm]:
    """PostgreSQL 18 instances by server-certificate name, started on first use (the
    binaries: ``scripts/install.sh`` or ``$TLSCONNECT_PG18_BIN``)."""
    from . import PostgresFarm

    # No prefetch: direct TLS tests use an instance or two, not every certificate.
    farm = PostgresFarm(
        tlsconnect_pki.ca_pem, tlsconnect_pki.server_certs(), prefetch=False, version=18
    )
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def tlsconnect_postgres(tlsconnect_postgres_farm: PostgresFarm) -> PostgresServer:
    """PostgreSQL 15 with ``ssl=on`` and the good server certificate; ``avnadmin`` logs
    in with the PKI's client certificate."""
    return tlsconnect_postgres_farm.good


@pytest.fixture(scope="session")
def tlsconnect_kafka_farm(tlsconnect_pki: PKI) -> Iterator[KafkaFarm]:
    """TLS Kafka front-ends by server-certificate name, started on first use."""
    from . import KafkaFarm

    farm = KafkaFarm(tlsconnect_pki.ca_pem, tlsconnect_pki.server_certs())
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def tlsconnect_kafka(tlsconnect_kafka_farm: KafkaFarm) -> KafkaServer:
    """The Kafka-protocol broker behind TLS with the good server certificate, requiring
    a client certificate from the PKI's CA; ``.bootstrap`` is ``localhost:<port>``."""
    return tlsconnect_kafka_farm.good


@pytest.fixture(scope="session")
def tlsconnect_redis(tlsconnect_pki: PKI) -> Iterator[RedisServer]:
    """Redis on a TLS port with the good server certificate; clients log in with
    ``tlsconnect_redis.password`` (``.url()`` has it) and may present a client
    certificate."""
    from . import RedisServer

    with RedisServer(
        tlsconnect_pki.server.cert_path,
        tlsconnect_pki.server.key_path,
        tlsconnect_pki.ca_pem,
        auth_clients="optional",
        password=REDIS_PASSWORD,
    ) as server:
        yield server


@pytest.fixture(scope="session")
def tlsconnect_mariadb(tlsconnect_pki: PKI) -> Iterator[MariaDBServer]:
    """MariaDB requiring TLS with the good server certificate: ``.user``/``.password``
    on ``.database``, and ``.x509_user`` that needs the PKI's client certificate."""
    from . import MariaDBServer

    with MariaDBServer(
        tlsconnect_pki.server.cert_path, tlsconnect_pki.server.key_path, tlsconnect_pki.ca_pem
    ) as server:
        yield server


@pytest.fixture(scope="session")
def _tlsconnect_tls_server(tlsconnect_pki: PKI) -> Iterator[TLSServer]:
    from . import TLSServer

    with TLSServer(
        tlsconnect_pki.server.cert_path,
        tlsconnect_pki.server.key_path,
        client_ca=tlsconnect_pki.ca_pem,
    ) as server:
        yield server


@pytest.fixture
def tlsconnect_tls_server(_tlsconnect_tls_server: TLSServer) -> Iterator[TLSServer]:
    """A TLS server with the good certificate that asks for a client certificate and
    records each handshake (``.handshakes``); the record is cleared after the test."""
    yield _tlsconnect_tls_server
    _tlsconnect_tls_server.clear()


@pytest.fixture(scope="session")
def _tlsconnect_https_server(tlsconnect_pki: PKI) -> Iterator[HTTPSServer]:
    from . import HTTPSServer

    with HTTPSServer(
        tlsconnect_pki.server.cert_path,
        tlsconnect_pki.server.key_path,
        client_ca=tlsconnect_pki.ca_pem,
    ) as server:
        yield server


@pytest.fixture
def tlsconnect_https_server(_tlsconnect_https_server: HTTPSServer) -> Iterator[HTTPSServer]:
    """An HTTPS server with the good certificate that asks for a client certificate;
    ``.route(path, handler)`` answers a path, ``.requests`` records what came. Routes
    and records are cleared after the test."""
    yield _tlsconnect_https_server
    _tlsconnect_https_server.clear()
