"""check gives the verdict the driver reaches, on the certificate zoo, against real
PostgreSQL: psycopg (libpq's host-name rule) and asyncpg (Python's ssl) connect for real
to a server presenting each zoo certificate, and check (by default, ``--driver psycopg``
and ``--driver asyncpg``) must say what each of them did, case by case."""

from __future__ import annotations

import asyncio
import json
import ssl

import asyncpg
import psycopg
import pytest

import tlsconnect
from tlsconnect import ErrorClass
from tlsconnect._cli import main
from tlsconnect.testing import (
    ZOO_SERVERS,
    PostgresFarm,
    RecordingProxy,
    client_hello_alpn,
    ipv6_loopback_available,
    make_zoo,
)

HOSTS = ["localhost", "127.0.0.1"] + (["::1"] if ipv6_loopback_available() else [])
USER = "tlsuser"  # trusted over hostssl by the test servers: the verdict is TLS's alone
# OpenSSL's host name and IP address mismatch codes
NAME_CODES = {62, 64}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory):
    return make_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="module")
def zoo_pg(zoo):
    """One PostgreSQL per zoo server certificate (leaf and intermediate sent), started on
    first use; the zoo root is the only anchor a client needs."""
    certs = {name: zoo.server_pair(name) for name in ZOO_SERVERS}
    farm = PostgresFarm(zoo.root.cert_path, certs, prefetch=False)
    yield farm
    farm.stop()


def _uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def psycopg_outcome(
    zoo, port: int, host: str, hostaddr: str | None = None, sslnegotiation: str = "postgres"
) -> bool:
    """Whether libpq (psycopg) connects; a refusal must be for the host name."""
    try:
        with psycopg.connect(
            host=host,
            hostaddr=hostaddr,
            port=port,
            user=USER,
            dbname="defaultdb",
            sslmode="verify-full",
            sslrootcert=str(zoo.root.cert_path),
            sslnegotiation=sslnegotiation,
            connect_timeout=10,
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError as exc:
        text = str(exc)
        assert "does not match host name" in text or "could not get server's host name" in (text), (
            text
        )
        return False
    return True


def asyncpg_outcome(zoo, port: int, host: str, **options: str) -> bool:
    """Whether asyncpg connects with tlsconnect's parameters (and ``options``: direct TLS,
    a server_name); a refusal must be OpenSSL's host name (or address) mismatch."""
    params = tlsconnect.params(
        "asyncpg",
        f"postgresql://{USER}@{_uri_host(host)}:{port}/defaultdb",
        ca=zoo.root.cert_path,
        **options,
    )

    async def connect() -> None:
        conn = await asyncpg.connect(**params, timeout=10)
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()

    try:
        asyncio.run(connect())
    except ssl.SSLCertVerificationError as exc:
        assert exc.verify_code in NAME_CODES, exc
        return False
    return True


def check_verdict(
    zoo, target: str, driver: str | None = None, **options: str
) -> tlsconnect.CheckReport:
    report = tlsconnect.check(target, ca=zoo.root.cert_path, user=USER, driver=driver, **options)
    if not report.ok:
        # a refusal of check's is for the host name, after a chain that verified
        assert report.error_class == ErrorClass.HOSTNAME_MISMATCH.value, str(report)
        assert report.chain_verified is True and report.hostname_verified is False
    return report


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("name", sorted(ZOO_SERVERS))
def test_check_reaches_the_verdict_of_each_driver(zoo, zoo_pg, name, host):
    server = zoo_pg[name]
    target = f"host={host} port={server.port} dbname=defaultdb"
    libpq = psycopg_outcome(zoo, server.port, host)
    python_ssl = asyncpg_outcome(zoo, server.port, host)

    default = check_verdict(zoo, target)
    assert default.ok is libpq, str(default)
    assert default.verdict_of == "libpq" and default.name_rule == "libpq"
    assert check_verdict(zoo, target, "psycopg").ok is libpq
    as_asyncpg = check_verdict(zoo, target, "asyncpg")
    assert as_asyncpg.ok is python_ssl, str(as_asyncpg)
    assert as_asyncpg.verdict_of == "asyncpg" and as_asyncpg.name_rule == "python-ssl"

    # Where the drivers part, both reports say so and name the others.
    if libpq != python_ssl:
        assert default.drivers_deciding_otherwise == ["asyncpg", "pg8000"]
        assert as_asyncpg.drivers_deciding_otherwise == [
            "psycopg",
            "psycopg2",
            "django",
            "sqlalchemy",
        ]
        words = " ".join(default.notes)
        assert "libpq (psycopg, psycopg2) accepts this certificate" in words
        assert "asyncpg and other drivers that use Python's ssl will refuse it" in words
    else:
        assert default.drivers_deciding_otherwise == []
        assert as_asyncpg.drivers_deciding_otherwise == []


@pytest.mark.parametrize(
    ("name", "host", "why"),
    [
        ("cn_only", "localhost", "it names its host only in the CN"),
        ("cn_ip", "127.0.0.1", "it names the address 127.0.0.1 only in the CN"),
        ("ip_in_dns", "127.0.0.1", "as a DNS name, not as an IP-address entry"),
    ],
)
def test_the_drivers_part_where_libpq_reads_more_than_python_ssl(zoo, zoo_pg, name, host, why):
    """The table above is not degenerate: these are the shapes where the drivers really
    disagree, and the report says why in words."""
    server = zoo_pg[name]
    assert psycopg_outcome(zoo, server.port, host) is True
    assert asyncpg_outcome(zoo, server.port, host) is False
    report = check_verdict(zoo, f"host={host} port={server.port}")
    assert report.ok and why in " ".join(report.notes), str(report)


@pytest.mark.parametrize(
    ("name", "host", "accepted"),
    [
        ("dns_wildcard", "db.example.test", True),
        ("dns_wildcard", "other.example.test", True),  # the wildcard's one label
        ("dns_wildcard", "a.b.example.test", False),  # not two labels
        ("cn_only", "db.example.test", False),
    ],
)
def test_hostaddr_connects_there_and_verifies_host(zoo, zoo_pg, name, host, accepted):
    """``hostaddr`` as libpq honours it: the connection goes to the address, the name
    verified is ``host`` (which need not resolve at all)."""
    server = zoo_pg[name]
    assert psycopg_outcome(zoo, server.port, host, hostaddr="127.0.0.1") is accepted
    report = check_verdict(zoo, f"host={host} hostaddr=127.0.0.1 port={server.port}")
    assert report.ok is accepted, str(report)
    assert any("connected to 127.0.0.1 (hostaddr)" in note for note in report.notes)


def test_check_cli_driver_flag_and_json_name_the_verdict(zoo, zoo_pg, capsys):
    server = zoo_pg["cn_only"]
    target = f"postgresql://{USER}@localhost:{server.port}/defaultdb"
    ca = str(zoo.root.cert_path)
    assert main(["check", target, "--ca", ca, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict_of"] == "libpq" and out["drivers_deciding_otherwise"] == [
        "asyncpg",
        "pg8000",
    ]
    assert main(["check", target, "--ca", ca, "--json", "--driver", "asyncpg"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["verdict_of"] == "asyncpg" and out["error_class"] == "hostname_mismatch"
    assert "psycopg" in out["drivers_deciding_otherwise"]


def test_check_driver_of_another_service_is_refused(zoo, zoo_pg):
    with pytest.raises(tlsconnect.ConfigError, match="redis.*does not connect to postgresql"):
        tlsconnect.check("host=localhost port=5432", ca=zoo.root.cert_path, driver="redis")


def test_hostaddr_without_host_is_refused_as_libpq_refuses_it(zoo):
    with pytest.raises(tlsconnect.ConfigError, match="hostaddr=127.0.0.1 but no host"):
        tlsconnect.check("hostaddr=127.0.0.1 port=5432", ca=zoo.root.cert_path)


# -- server_name: the name judged is server_name, by the driver's rule ------------------------


def psycopg_server_name_outcome(zoo, port: int, server_name: str) -> bool:
    """Whether psycopg connects with tlsconnect's parameters for 127.0.0.1 and
    ``server_name`` (libpq: host = the name, hostaddr = the address); a refusal must be
    libpq's host-name mismatch."""
    params = tlsconnect.params(
        "psycopg",
        f"postgresql://{USER}@127.0.0.1:{port}/defaultdb",
        ca=zoo.root.cert_path,
        server_name=server_name,
    )
    try:
        with psycopg.connect(**params, connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError as exc:
        assert "does not match host name" in str(exc), str(exc)
        return False
    return True


@pytest.mark.parametrize(
    ("name", "server_name"),
    [
        ("cn_only", "localhost"),  # libpq reads the CN; Python's ssl does not
        ("dns_wildcard", "db.example.test"),  # both accept
        ("dns_wildcard", "a.b.example.test"),  # both refuse: the wildcard is one label
        ("cn_only", "db.example.test"),  # both refuse
    ],
)
def test_check_judges_server_name_by_the_drivers_rule(zoo, zoo_pg, name, server_name):
    """Connected to 127.0.0.1, the name judged is server_name (not the address): libpq's
    rule by default, Python's ssl with --driver asyncpg, each held to the real driver."""
    server = zoo_pg[name]
    target = f"postgresql://{USER}@127.0.0.1:{server.port}/defaultdb"
    libpq = psycopg_server_name_outcome(zoo, server.port, server_name)
    python_ssl = asyncpg_outcome(zoo, server.port, "127.0.0.1", server_name=server_name)

    default = check_verdict(zoo, target, server_name=server_name)
    assert default.ok is libpq, str(default)
    assert default.server_name == server_name
    as_asyncpg = check_verdict(zoo, target, "asyncpg", server_name=server_name)
    assert as_asyncpg.ok is python_ssl, str(as_asyncpg)
    for report in (default, as_asyncpg):
        if not report.ok:
            assert f"server_name '{server_name}'" in (report.error or ""), str(report)
    if libpq != python_ssl:
        assert "it names its host only in the CN" in " ".join(default.notes)


def test_check_honours_hostaddr_with_server_name(zoo, zoo_pg):
    """hostaddr gives the address, server_name the name: no host is needed."""
    server = zoo_pg["cn_only"]
    report = check_verdict(zoo, f"hostaddr=127.0.0.1 port={server.port}", server_name="localhost")
    assert report.ok, str(report)
    assert any("connects to 127.0.0.1" in note for note in report.notes), report.notes
    refused = check_verdict(
        zoo, f"hostaddr=127.0.0.1 port={server.port}", server_name="db.example.test"
    )
    assert not refused.ok and "server_name 'db.example.test'" in (refused.error or "")


# -- direct TLS (PostgreSQL 18): the same verdicts, with TLS at once ---------------------------

DIRECT_CASES = ["cn_only", "cn_ip", "ip_in_dns", "dns_wildcard"]


@pytest.fixture(scope="module")
def zoo_pg18(zoo):
    """PostgreSQL 18 with the zoo's certificates, each behind a proxy that records the
    first bytes of every connection."""
    certs = {name: zoo.server_pair(name) for name in DIRECT_CASES}
    farm = PostgresFarm(zoo.root.cert_path, certs, prefetch=False, version=18)
    proxies: dict[str, RecordingProxy] = {}

    def proxied(name: str) -> RecordingProxy:
        if name not in proxies:
            proxies[name] = RecordingProxy(farm[name].port).start()
        proxies[name].clear()
        return proxies[name]

    yield proxied
    for proxy in proxies.values():
        proxy.stop()
    farm.stop()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
@pytest.mark.parametrize("name", DIRECT_CASES)
def test_check_over_direct_tls_reaches_each_drivers_verdict(zoo, zoo_pg18, name, host):
    """sslnegotiation=direct: psycopg (libpq 17+) and asyncpg (direct_tls) connect for real,
    and check, speaking direct TLS itself, gives each one's verdict by its name rule."""
    proxy = zoo_pg18(name)
    libpq = psycopg_outcome(zoo, proxy.port, host, sslnegotiation="direct")
    python_ssl = asyncpg_outcome(zoo, proxy.port, host, sslnegotiation="direct")
    proxy.clear()
    if (name, host) == ("cn_only", "localhost"):  # the table is not degenerate
        assert libpq and not python_ssl

    target = f"host={host} port={proxy.port} dbname=defaultdb sslnegotiation=direct"
    default = check_verdict(zoo, target)
    assert default.ok is libpq, str(default)
    assert default.verdict_of == "libpq"
    as_asyncpg = check_verdict(zoo, target, "asyncpg")
    assert as_asyncpg.ok is python_ssl, str(as_asyncpg)
    if libpq != python_ssl:
        assert default.drivers_deciding_otherwise == ["asyncpg", "pg8000"]
    # check's own connections were direct: a TLS ClientHello offering ALPN "postgresql"
    # first (side connections that read a refused certificate may use the SSLRequest).
    first = proxy.clear()[0]
    assert first.starts_with_tls and not first.starts_with_ssl_request
    assert client_hello_alpn(first.first_bytes) == ["postgresql"]
