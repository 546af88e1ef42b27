"""The SQL drivers around PostgreSQL and MySQL, each through the call users make, against
real servers: PostgreSQL 15 (the ``pg`` farm) and MariaDB 10.11 (``mariadb``, plus one
instance per broken server certificate started here). psycopg2, pg8000 and
mysql-connector-python are in the matrix too; their traps are shown closed in
``test_drivers_sql_more.py``.

Every way of connecting gets the same matrix: verify-full connects; a certificate for
another host is refused under verify-full and accepted under verify-ca; a certificate
from another CA is refused in every verifying mode; a client certificate is presented;
the console URI works; ``require`` without a CA warns and connects to anything.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import tlsconnect
from refusals import Why, expect_refusal
from tlsconnect import (
    ConfigError,
    Credentials,
    InsecureConnectionWarning,
    MissingDependencyError,
    TLSDowngradeWarning,
)
from tlsconnect._configgen import generate_config
from tlsconnect._target import parse_target
from tlsconnect.testing import MariaDBServer

PROBE = Path(__file__).resolve().parent / "django_probe.py"


# What each driver says when verification refuses the server: OpenSSL's words through
# Python (asyncpg, PyMySQL), libpq's, or MariaDB Connector/C's (mysqlclient).
def refused(why: Why, call: Callable[[], object], srv: Any) -> None:
    """The SQL family's refusal: ``call`` fails, and the client's error (OpenSSL's verify
    code or text, or the driver's own host name check) or the server's log (the client's
    alert: libpq and mysqlclient say only "verify failed") says ``why``."""
    expect_refusal(why, call, server_log=srv.log_path)


PG_SQL = "SELECT ssl, current_user, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
MY_SQL = (
    "SELECT VARIABLE_VALUE <> '', CURRENT_USER(), NULL FROM information_schema.SESSION_STATUS "
    "WHERE VARIABLE_NAME = 'SSL_CIPHER'"
)


# -- each way of connecting: params(...) -> the driver's call -> (tls, user, client_dn) --


def _psycopg(p: dict) -> tuple:
    import psycopg

    with psycopg.connect(**p, connect_timeout=10) as conn:
        return tuple(conn.execute(PG_SQL).fetchone())


def _psycopg_async(p: dict) -> tuple:
    import psycopg

    async def run() -> tuple:
        conn = await psycopg.AsyncConnection.connect(**p, connect_timeout=10)
        async with conn:
            cursor = await conn.execute(PG_SQL)
            return tuple(await cursor.fetchone())

    return asyncio.run(run())


def _psycopg_pool(p: dict) -> tuple:
    from psycopg_pool import ConnectionPool

    with ConnectionPool(kwargs=p, min_size=1, max_size=1, open=True, timeout=15) as pool:
        with pool.connection() as conn:
            return tuple(conn.execute(PG_SQL).fetchone())


def psycopg2_query(p: dict) -> tuple:
    import psycopg2

    conn = psycopg2.connect(**p, connect_timeout=10)
    try:
        with conn.cursor() as cursor:
            cursor.execute(PG_SQL)
            return tuple(cursor.fetchone())
    finally:
        conn.close()


def pg8000_native_query(p: dict) -> tuple:
    import pg8000.native

    conn = pg8000.native.Connection(**p, timeout=10)
    try:
        return tuple(conn.run(PG_SQL)[0])
    finally:
        conn.close()


def pg8000_dbapi_query(p: dict) -> tuple:
    import pg8000

    conn = pg8000.connect(**p, timeout=10)
    try:
        cursor = conn.cursor()
        cursor.execute(PG_SQL)
        return tuple(cursor.fetchone())
    finally:
        conn.close()


def mysql_connector_query(p: dict) -> tuple:
    import mysql.connector

    conn = mysql.connector.connect(**p, connection_timeout=10)
    try:
        cursor = conn.cursor()
        cursor.execute(MY_SQL)
        return tuple(cursor.fetchone())
    finally:
        conn.close()


def _asyncpg(p: dict) -> tuple:
    import asyncpg

    async def run() -> tuple:
        conn = await asyncpg.connect(**p)
        try:
            return tuple(await conn.fetchrow(PG_SQL))
        finally:
            await conn.close()

    return asyncio.run(run())


def _asyncpg_pool(p: dict) -> tuple:
    import asyncpg

    async def run() -> tuple:
        async with asyncpg.create_pool(**p, min_size=1, max_size=1) as pool:
            return tuple(await pool.fetchrow(PG_SQL))

    return asyncio.run(run())


def engine_query(sql: str) -> Callable[[dict], tuple]:
    def run(p: dict) -> tuple:
        from sqlalchemy import create_engine, text

        engine = create_engine(**p)
        try:
            with engine.connect() as conn:
                return tuple(conn.execute(text(sql)).one())
        finally:
            engine.dispose()

    return run


def _async_engine(p: dict) -> tuple:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> tuple:
        engine = create_async_engine(**p)
        try:
            async with engine.connect() as conn:
                return tuple((await conn.execute(text(PG_SQL))).one())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def django_query(database: dict, sql: str, hide: tuple[str, ...] = ()) -> tuple:
    """``DATABASES["default"] = database`` and one query through ``connection.cursor()``,
    in a process of its own (where the modules ``hide`` names cannot be imported); a
    refused connection raises with the driver's message."""
    spec = json.dumps({"database": database, "sql": sql, "hide": list(hide)})
    done = subprocess.run(
        [sys.executable, str(PROBE), spec], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if not answer["ok"]:
        raise RuntimeError(answer["error"])
    return tuple(answer["row"])


def _django(sql: str, hide: tuple[str, ...] = ()) -> Callable[[dict], tuple]:
    return lambda p: django_query(p, sql, hide)


@dataclass
class Way:
    """One call users make with ``params(driver, ...)``."""

    id: str
    service: str  # "pg" or "mysql"
    driver: str
    connect: Callable[[dict], tuple]
    options: dict[str, Any] = field(default_factory=dict)
    refusals: bool = True  # whether a refused server surfaces the driver's own error
    # What the driver is warned about on every call (mysql-connector's own trust store).
    warning: str | None = None

    def params(self, target: str, **kwargs: Any) -> dict:
        if self.warning is None:
            return tlsconnect.params(self.driver, target, **self.options, **kwargs)
        # the system's CAs: InsecureConnectionWarning; no TLS at all: TLSDowngradeWarning
        with pytest.warns((InsecureConnectionWarning, TLSDowngradeWarning), match=self.warning):
            return tlsconnect.params(self.driver, target, **self.options, **kwargs)

    def __repr__(self) -> str:
        return self.id


PG_WAYS = [
    Way("psycopg", "pg", "psycopg", _psycopg),
    Way("psycopg-async", "pg", "psycopg", _psycopg_async),
    # A pool retries a refused server until its timeout: no driver error to read.
    Way("psycopg-pool", "pg", "psycopg", _psycopg_pool, refusals=False),
    Way("asyncpg", "pg", "asyncpg", _asyncpg),
    Way("asyncpg-pool", "pg", "asyncpg", _asyncpg_pool),
    Way("sqlalchemy-psycopg", "pg", "sqlalchemy", engine_query(PG_SQL)),
    Way("sqlalchemy-asyncpg", "pg", "sqlalchemy", _async_engine, {"dialect": "asyncpg"}),
    Way("django-postgresql", "pg", "django", _django(PG_SQL)),
    Way("psycopg2", "pg", "psycopg2", psycopg2_query),
    Way("pg8000-native", "pg", "pg8000", pg8000_native_query),
    Way("pg8000-dbapi", "pg", "pg8000", pg8000_dbapi_query),
    Way("sqlalchemy-psycopg2", "pg", "sqlalchemy", engine_query(PG_SQL), {"dialect": "psycopg2"}),
    Way("sqlalchemy-pg8000", "pg", "sqlalchemy", engine_query(PG_SQL), {"dialect": "pg8000"}),
    # Django's engine where psycopg cannot be imported: it uses psycopg2.
    Way("django-postgresql-psycopg2", "pg", "django", _django(PG_SQL, hide=("psycopg",))),
]
#: mysql-connector's pure-Python TLS trusts the system's CAs too (verifying plans), or goes
#: on without TLS when the server offers none (require without a CA): warned every call.
MYSQL_CONNECTOR_WARNS = "system's CAs|WITHOUT TLS"
MY_WAYS = [
    Way("sqlalchemy-pymysql", "mysql", "sqlalchemy", engine_query(MY_SQL), {"dialect": "pymysql"}),
    Way("sqlalchemy-mysqldb", "mysql", "sqlalchemy", engine_query(MY_SQL), {"dialect": "mysqldb"}),
    Way("django-mysql", "mysql", "django", _django(MY_SQL)),
    Way(
        "mysql-connector",
        "mysql",
        "mysql-connector",
        mysql_connector_query,
        warning=MYSQL_CONNECTOR_WARNS,
    ),
    Way(
        "sqlalchemy-mysqlconnector",
        "mysql",
        "sqlalchemy",
        engine_query(MY_SQL),
        {"dialect": "mysqlconnector"},
        warning=MYSQL_CONNECTOR_WARNS,
    ),
]
WAYS = PG_WAYS + MY_WAYS
REFUSING = [way for way in WAYS if way.refusals]


# -- servers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maria(pki, mariadb) -> Iterator[Callable[[str], MariaDBServer]]:
    """MariaDB by server-certificate name (``good`` is the session's), started on first use."""
    started: dict[str, MariaDBServer] = {}

    def get(name: str) -> MariaDBServer:
        if name == "good":
            return mariadb
        if name not in started:
            started[name] = MariaDBServer(
                *pki.server_pairs[name].pair, pki.ca_pem, name=name
            ).start()
        return started[name]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture
def server(pg, maria) -> Callable[[Way, str], Any]:
    return lambda way, name: pg[name] if way.service == "pg" else maria(name)


def target(service: str, srv: Any, host: str | None = None, *, cert_user: bool = False, query=""):
    """The console's URI for the way's database: ``tlsuser`` (PostgreSQL, trusted over
    TLS) or ``avnadmin`` with its password (MariaDB); with ``cert_user`` the user that
    logs in with the client certificate. mysqlclient needs 127.0.0.1 (see its tests)."""
    if service == "pg":
        user = "avnadmin" if cert_user else "tlsuser"
        return f"postgres://{user}@{host or 'localhost'}:{srv.port}/defaultdb{query}"
    auth = srv.x509_user if cert_user else f"{srv.user}:{srv.password}"
    return f"mysql://{auth}@{host or '127.0.0.1'}:{srv.port}/{srv.database}{query}"


def hosts_for(way: Way) -> list[str]:
    return (
        ["localhost", "127.0.0.1"]
        if way.service == "pg" or "pymysql" in way.id or "connector" in way.id
        else ["127.0.0.1"]
    )


# -- the matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("way", "host"), [(way, host) for way in WAYS for host in hosts_for(way)], ids=str
)
def test_verify_full_connects(way, host, server, pki):
    p = way.params(target(way.service, server(way, "good"), host), ca=pki.ca_pem)
    tls, user, _ = way.connect(p)
    assert tls and user.startswith("tlsuser" if way.service == "pg" else "avnadmin")


@pytest.mark.parametrize("way", REFUSING, ids=str)
def test_verify_full_refuses_another_host_and_verify_ca_accepts_it(way, server, pki):
    uri = target(way.service, server(way, "wronghost"))
    srv = server(way, "wronghost")
    refused(Why.HOST_NAME, lambda: way.connect(way.params(uri, ca=pki.ca_pem)), srv)
    tls, _, _ = way.connect(way.params(uri, ca=pki.ca_pem, sslmode="verify-ca"))
    assert tls


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca", "require"])
@pytest.mark.parametrize("way", REFUSING, ids=str)
def test_another_ca_is_refused_in_every_verifying_mode(way, sslmode, server, pki):
    # require with a CA verifies the chain (libpq's rule), in every driver
    p = way.params(target(way.service, server(way, "othersigned")), ca=pki.ca_pem, sslmode=sslmode)
    refused(Why.UNTRUSTED_ISSUER, lambda: way.connect(p), server(way, "othersigned"))


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_the_client_certificate_is_presented(way, server, pki):
    uri = target(way.service, server(way, "good"), cert_user=True)
    p = way.params(uri, credentials=Credentials.from_directory(pki.creds_dir))
    tls, user, client_dn = way.connect(p)
    if way.service == "pg":  # avnadmin logs in with its certificate (clientcert=verify-full)
        assert tls and user == "avnadmin" and "CN=avnadmin" in client_dn
    else:  # x509user REQUIRE X509
        assert tls and user.startswith("x509user@")


@pytest.mark.parametrize("way", REFUSING, ids=str)
def test_the_console_uri_tls_word_is_read_as_the_sslmode(way, server, pki):
    word = "?sslmode=require" if way.service == "pg" else "?ssl-mode=REQUIRED"
    p = way.params(target(way.service, server(way, "good"), query=word), ca=pki.ca_pem)
    assert "sslmode=" not in str(p.get("url", "")) and "ssl-mode" not in str(p.get("url", ""))
    assert way.connect(p)[0]
    # require with the CA verifies the chain: another CA's server is refused
    other = way.params(target(way.service, server(way, "othersigned"), query=word), ca=pki.ca_pem)
    refused(Why.UNTRUSTED_ISSUER, lambda: way.connect(other), server(way, "othersigned"))


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_require_without_a_ca_warns_and_connects_to_any_server(way, server):
    with pytest.warns(InsecureConnectionWarning, match="NOT verified"):
        p = way.params(target(way.service, server(way, "othersigned")), sslmode="require")
    assert way.connect(p)[0]


@pytest.mark.parametrize(
    ("driver", "module", "extra", "target_uri", "options"),
    [
        ("asyncpg", "asyncpg", "asyncpg", "postgres://u@h:5432/db", {}),
        ("sqlalchemy", "sqlalchemy", "sqlalchemy", "postgres://u@h:5432/db", {}),
        ("sqlalchemy", "psycopg", "postgres", "postgresql+psycopg://u@h:5432/db", {}),
        ("sqlalchemy", "asyncpg", "asyncpg", "postgresql+asyncpg://u@h:5432/db", {}),
        ("sqlalchemy", "pymysql", "mysql", "mysql://u:p@h:3306/db", {}),
        ("sqlalchemy", "MySQLdb", "mysqlclient", "mysql+mysqldb://u:p@h:3306/db", {}),
        ("django", "django", "django", "postgres://u@h:5432/db", {}),
        # Django's PostgreSQL engine runs on psycopg2 too: missing only when both are
        ("django", "psycopg psycopg2", "postgres", "postgres://u@h:5432/db", {}),
        ("django", "MySQLdb", "mysqlclient", "mysql://u:p@h:3306/db", {}),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(
    pki, monkeypatch, driver, module, extra, target_uri, options
):
    for name in module.split():
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    with pytest.raises(MissingDependencyError) as info:
        tlsconnect.params(driver, target_uri, ca=pki.ca_pem, **options)
    assert f'pip install "tlsconnect[{extra}]"' in str(info.value)


def test_a_missing_driver_in_a_fresh_interpreter(pki):
    code = (
        "import sys; sys.modules['asyncpg'] = None\n"
        "import tlsconnect\n"
        "try:\n"
        "    tlsconnect.params('asyncpg', 'postgres://u@h:5432/db', ca=sys.argv[1])\n"
        "except tlsconnect.MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(pki.ca_pem)], capture_output=True, text=True, check=True
    ).stdout
    assert 'pip install "tlsconnect[asyncpg]"' in out


# -- psycopg: the named function and params() agree ---------------------------------------


def test_psycopg_params_and_params_psycopg_are_the_same(pg, pki):
    uri = f"postgres://tlsuser@localhost:{pg.good.port}/defaultdb?sslmode=require"
    creds = Credentials.from_directory(pki.creds_dir)
    assert tlsconnect.params("psycopg", uri, credentials=creds) == tlsconnect.psycopg_params(
        uri, credentials=creds
    )
    assert tlsconnect.params("PSYCOPG", uri, ca=pki.ca_pem, application_name="x") == (
        tlsconnect.psycopg_params(uri, ca=pki.ca_pem, application_name="x")
    )


# -- asyncpg -------------------------------------------------------------------------------


def test_asyncpg_gets_keywords_and_a_context_never_libpq_tls_words(pg, pki):
    uri = (
        f"postgres://tlsuser:pw@localhost:{pg.good.port}/defaultdb?sslmode=verify-ca"
        "&application_name=tls%20test&connect_timeout=9"
    )
    p = tlsconnect.params("asyncpg", uri, ca=pki.ca_pem)
    assert set(p) == {"host", "port", "user", "password", "database", "timeout", "ssl",
                      "server_settings"}  # fmt: skip
    assert (p["host"], p["port"], p["user"], p["password"], p["database"]) == (
        "localhost",
        pg.good.port,
        "tlsuser",
        "pw",
        "defaultdb",
    )
    assert p["timeout"] == 9.0 and p["server_settings"] == {"application_name": "tls test"}
    assert p["ssl"].check_hostname is False  # the URI's verify-ca

    async def name() -> str:
        conn = await asyncpg.connect(**p)
        try:
            return await conn.fetchval("SHOW application_name")
        finally:
            await conn.close()

    import asyncpg

    assert asyncio.run(name()) == "tls test"


def test_asyncpg_options_win_over_the_target_and_tls_keywords_are_refused(pki):
    p = tlsconnect.params(
        "asyncpg",
        "postgres://u@h:5432/db?application_name=a",
        ca=pki.ca_pem,
        database="other",
        command_timeout=5,
        server_settings={"search_path": "x"},
    )
    assert p["database"] == "other" and p["command_timeout"] == 5
    assert p["server_settings"] == {"application_name": "a", "search_path": "x"}
    for name in ("ssl", "tls", "sslrootcert", "dsn"):
        with pytest.raises(ConfigError, match="set by tlsconnect"):
            tlsconnect.params("asyncpg", "postgres://u@h:5432/db", ca=pki.ca_pem, **{name: "x"})


def test_asyncpg_refuses_libpq_keywords_it_would_misread(pki):
    with pytest.raises(ConfigError, match="options= is a libpq keyword"):
        tlsconnect.params("asyncpg", "host=h port=5432 options='-c x=1'", ca=pki.ca_pem)


def test_asyncpg_takes_every_host_of_a_multi_host_conninfo(pki):
    p = tlsconnect.params("asyncpg", "postgres://u@h1:5432,h2:5433/db", ca=pki.ca_pem)
    assert p["host"] == ["h1", "h2"] and p["port"] == [5432, 5433]


# -- SQLAlchemy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "option", "drivername"),
    [
        ("postgresql://u@h:5432/db", "asyncpg", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h:5432/db", None, "postgresql+asyncpg"),
        ("postgresql+psycopg://u@h:5432/db", "psycopg", "postgresql+psycopg"),
        ("mysql://u:p@h:3306/db", None, "mysql+pymysql"),
        ("mysql+mysqldb://u:p@h:3306/db", None, "mysql+mysqldb"),
        ("mariadb://u:p@h:3306/db", "mysqlclient", "mysql+mysqldb"),
        ("h:3306", "pymysql", "mysql+pymysql"),
        ("h:5432", "asyncpg", "postgresql+asyncpg"),
        ("postgresql+psycopg2://u@h:5432/db", None, "postgresql+psycopg2"),
        ("postgres://u@h:5432/db", "psycopg2", "postgresql+psycopg2"),
        ("postgresql+pg8000://u@h:5432/db", "pg8000", "postgresql+pg8000"),
        ("mysql+mysqlconnector://u:p@h:3306/db", None, "mysql+mysqlconnector"),
        ("mysql://u:p@h:3306/db", "mysql-connector", "mysql+mysqlconnector"),
    ],
)
def test_sqlalchemy_dialect_from_the_scheme_or_the_option(pki, uri, option, drivername):
    options = {} if option is None else {"dialect": option}
    if "mysqlconnector" in drivername:
        with pytest.warns(InsecureConnectionWarning, match="system's CAs"):
            p = tlsconnect.params("sqlalchemy", uri, ca=pki.ca_pem, **options)
    else:
        p = tlsconnect.params("sqlalchemy", uri, ca=pki.ca_pem, **options)
    assert p["url"].drivername == drivername


@pytest.mark.parametrize(
    ("uri", "option", "message"),
    [
        ("postgresql+asyncpg://u@h:5432/db", "psycopg", "contradicts"),
        ("postgres://u@h:5432/db", "pymysql", "is for mysql"),
        ("postgresql+pygresql://u@h:5432/db", None, "pygresql"),
        ("mysql+aiomysql://u@h:3306/db", None, "aiomysql"),
        ("rediss://h:6379", None, "not a PostgreSQL or MySQL"),
        ("postgres://u@h1:5432,h2:5432/db", None, "one host"),
    ],
)
def test_sqlalchemy_refuses_what_it_cannot_write(pki, uri, option, message):
    options = {} if option is None else {"dialect": option}
    with pytest.raises(ConfigError, match=message):
        tlsconnect.params("sqlalchemy", uri, ca=pki.ca_pem, **options)


def test_sqlalchemy_url_carries_the_target_without_tls_words(pki, tmp_path):
    from sqlalchemy.engine import make_url

    uri = "postgres://us%40er:p%3Ass%2Fw%40rd%25@h:5432/my%20db?sslmode=require&application_name=a"
    p = tlsconnect.params("sqlalchemy", uri, ca=pki.ca_pem, pool_pre_ping=True)
    url = p["url"]
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "us@er",
        "p:ss/w@rd%",
        "h",
        5432,
        "my db",
    )
    assert dict(url.query) == {"application_name": "a"} and p["pool_pre_ping"] is True
    # the console's require with the project CA at hand: verify-full (the host is checked)
    assert p["connect_args"]["sslmode"] == "verify-full"
    # the written-out URL parses back to the same URL, with the password from its file
    written = json.loads(
        generate_config("sqlalchemy", uri, ca=str(pki.ca_pem), output_dir=str(tmp_path)).text
    )
    password = pathlib.Path(written["url_password_file"]).read_text()
    assert make_url(written["url"]).set(password=password) == url


def test_sqlalchemy_connect_args_join_but_never_replace_tls(pki):
    p = tlsconnect.params(
        "sqlalchemy", "postgres://u@h:5432/db", ca=pki.ca_pem, connect_args={"connect_timeout": 5}
    )
    assert p["connect_args"]["connect_timeout"] == 5 and p["connect_args"]["sslmode"]
    for uri, key in (
        ("postgres://u@h:5432/db", "sslmode"),
        ("postgresql+asyncpg://u@h:5432/db", "ssl"),
        ("mysql://u@h:3306/db", "ssl_ca"),
        ("mysql://u@h:3306/db", "ssl_verify_cert"),
        ("mysql+mysqldb://u@h:3306/db", "ssl_mode"),
    ):
        with pytest.raises(ConfigError, match=f"connect_args {key} would replace"):
            tlsconnect.params("sqlalchemy", uri, ca=pki.ca_pem, connect_args={key: "x"})
    with pytest.raises(ConfigError, match="as the target"):
        tlsconnect.params("sqlalchemy", "postgres://u@h:5432/db", ca=pki.ca_pem, url="x://")


def test_sqlalchemy_asyncpg_from_the_console_uri_with_sslmode(pg, pki):
    """SQLAlchemy #6275 / asyncpg #737: ?sslmode=require in the URL is a TypeError."""
    console = f"postgres://tlsuser@localhost:{pg.good.port}/defaultdb?sslmode=require"
    from sqlalchemy.ext.asyncio import create_async_engine

    async def naive() -> None:
        engine = create_async_engine(console.replace("postgres://", "postgresql+asyncpg://"))
        try:
            async with engine.connect():
                pass
        finally:
            await engine.dispose()

    with pytest.raises(TypeError, match="sslmode"):
        asyncio.run(naive())
    p = tlsconnect.params("sqlalchemy", console, ca=pki.ca_pem, dialect="asyncpg")
    assert _async_engine(p)[0] is True


def test_pymysql_gets_a_context_that_checks_the_host_name(mariadb, pki):
    """PyMySQL given only ssl_ca verifies nothing (CERT_NONE, no host name check)."""
    import ssl

    p = tlsconnect.params("sqlalchemy", mariadb.url(), ca=pki.ca_pem)
    context = p["connect_args"]["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


# -- mysqlclient (Django's MySQL engine, SQLAlchemy's mysql+mysqldb) -------------------------


def test_mysqlclient_refuses_localhost_which_it_reads_as_the_unix_socket(pki):
    for driver, options in (("django", {}), ("sqlalchemy", {"dialect": "mysqldb"})):
        with pytest.raises(ConfigError, match="Unix socket"):
            tlsconnect.params(driver, "mysql://u:p@localhost:3306/db", ca=pki.ca_pem, **options)
    with pytest.raises(ConfigError, match="Unix socket"):
        tlsconnect.params("django", "mysql://u@h/db", ca=pki.ca_pem, HOST="/run/mysqld.sock")


def test_mysqlclient_verify_ca_is_spelled_for_the_c_library(pki):
    from MySQLdb import _mysql

    p = tlsconnect.params("django", "mysql://u:p@h:3306/db", ca=pki.ca_pem, sslmode="verify-ca")
    mariadb_connector = int(_mysql.get_client_info().split(".")[0]) < 5
    # MariaDB Connector/C's VERIFY_CA also checks the host name; a CA alone checks the chain
    assert p["OPTIONS"]["ssl_mode"] == ("REQUIRED" if mariadb_connector else "VERIFY_CA")
    assert p["OPTIONS"]["ssl"] == {"ca": str(pki.ca_pem)}


def test_mysqlclient_refuses_an_encrypted_key(pki):
    with pytest.raises(ConfigError, match="cannot read an encrypted key"):
        tlsconnect.params(
            "django",
            "mysql://u@h:3306/db",
            ca=pki.ca_pem,
            cert=pki.client.cert_path,
            key=pki.client_key_encrypted_path,
            key_password=pki.client_key_password,
        )


def test_mysqlclient_gets_the_private_copies_of_the_checked_pair(pki):
    import os
    import stat

    p = tlsconnect.params(
        "django", "mysql://u@h:3306/db", credentials=Credentials.from_directory(pki.creds_dir)
    )
    for name in ("cert", "key"):
        path = p["OPTIONS"]["ssl"][name]
        assert path != str(pki.creds_dir / f"service.{name}")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# -- Django --------------------------------------------------------------------------------


def test_django_settings_for_postgresql(pki):
    uri = "postgres://avnadmin:pw@h:5432/defaultdb?sslmode=require&application_name=a"
    p = tlsconnect.params("django", uri, ca=pki.ca_pem, CONN_MAX_AGE=60)
    assert p["ENGINE"] == "django.db.backends.postgresql"
    assert (p["NAME"], p["USER"], p["PASSWORD"], p["HOST"], p["PORT"]) == (
        "defaultdb",
        "avnadmin",
        "pw",
        "h",
        "5432",
    )
    assert p["CONN_MAX_AGE"] == 60
    # the console's require with the project CA at hand: verify-full
    assert p["OPTIONS"]["application_name"] == "a" and p["OPTIONS"]["sslmode"] == "verify-full"
    json.dumps(p)  # settings are plain data


def test_django_mysql_options_never_hold_libpq_sslmode(pki):
    """dj-database-url #280: OPTIONS["sslmode"] is a TypeError in mysqlclient."""
    p = tlsconnect.params("django", "mysql://u:p@h:3306/db?ssl-mode=REQUIRED", ca=pki.ca_pem)
    assert p["ENGINE"] == "django.db.backends.mysql"
    assert "sslmode" not in p["OPTIONS"] and p["OPTIONS"]["ssl"] == {"ca": str(pki.ca_pem)}
    with pytest.raises(ConfigError, match="mysqlclient refuses it"):
        tlsconnect.params(
            "django", "mysql://u:p@h:3306/db", ca=pki.ca_pem, OPTIONS={"sslmode": "require"}
        )


def test_django_options_join_and_settings_override_the_target(pki):
    p = tlsconnect.params(
        "django",
        "postgres://u@h:5432/db",
        ca=pki.ca_pem,
        NAME="other",
        OPTIONS={"pool": True},
        ENGINE="django.contrib.gis.db.backends.postgis",
    )
    assert p["NAME"] == "other" and p["OPTIONS"]["pool"] is True
    assert p["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    with pytest.raises(ConfigError, match="sslrootcert would replace"):
        tlsconnect.params(
            "django", "postgres://u@h/db", ca=pki.ca_pem, OPTIONS={"sslrootcert": "x"}
        )
    with pytest.raises(ConfigError, match="not an engine for the target's postgresql"):
        tlsconnect.params(
            "django", "postgres://u@h/db", ca=pki.ca_pem, ENGINE="django.db.backends.mysql"
        )
    mysql = tlsconnect.params("django", "h:3306", ca=pki.ca_pem, ENGINE="django.db.backends.mysql")
    assert "ssl_mode" in mysql["OPTIONS"]


# -- targets: SQLAlchemy's +driver schemes -----------------------------------------------


@pytest.mark.parametrize(
    ("uri", "scheme", "service", "dbname"),
    [
        (
            "postgresql+asyncpg://u:p@h:5432/db?sslmode=require",
            "postgresql+asyncpg",
            "postgresql",
            "db",
        ),
        ("postgres+psycopg://u@h:5432/db", "postgres+psycopg", "postgresql", "db"),
        ("mysql+pymysql://u:p@h:3306/db?ssl-mode=REQUIRED", "mysql+pymysql", "mysql", "db"),
        ("MariaDB+MySQLdb://u@h/db", "mariadb+mysqldb", "mysql", "db"),
    ],
)
def test_driver_schemes_parse_as_their_base_uri(uri, scheme, service, dbname):
    spec = parse_target(uri)
    assert (spec.scheme, spec.service.value, spec.host, spec.dbname, spec.user) == (
        scheme,
        service,
        "h",
        dbname,
        "u",
    )
    assert spec.sslmode == ("require" if "=" in uri else None)


def test_kafka_ssl_scheme_is_not_a_driver_scheme():
    assert parse_target("kafka+ssl://h:9092").service.value == "kafka"


# -- tlsconnect config --driver asyncpg|sqlalchemy|django, fed to the real driver ---------


def config(capsys, driver: str, uri: str, *args: str) -> tuple[dict, str]:
    from tlsconnect._cli import main

    code = main(["config", "--driver", driver, uri, *args])
    if code == 2:  # a password to write: only into files in --output-dir, never printed
        assert "pass --output-dir DIR" in capsys.readouterr().err
        out = tempfile.mkdtemp(prefix="tlsconnect-config-")
        code = main(["config", "--driver", driver, uri, *args, "--output-dir", out])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


def note(err: str) -> str:
    """The code of the usage note ``tlsconnect config`` printed, as printed."""
    [line] = [line for line in err.splitlines() if "use: " in line]
    return line.split("use: ", 1)[1]


def follow_asyncpg_note(cfg: dict, code: str) -> tuple:
    import asyncpg

    namespace: dict[str, Any] = {"asyncpg": asyncpg}
    exec(  # the note, as printed, inside the function that uses its connection
        f"async def follow(cfg):\n    {code}\n"
        f"    try:\n        return tuple(await conn.fetchrow({PG_SQL!r}))\n"
        "    finally:\n        await conn.close()\n",
        namespace,
    )
    return asyncio.run(namespace["follow"](cfg))


def follow_sqlalchemy_note(cfg: dict, code: str, sql: str) -> tuple:
    from sqlalchemy import create_engine, text
    from sqlalchemy.ext.asyncio import create_async_engine

    namespace: dict[str, Any] = {
        "cfg": cfg,
        "create_engine": create_engine,
        "create_async_engine": create_async_engine,
    }
    exec(code, namespace)
    engine = namespace["engine"]
    if "+asyncpg" not in cfg["url"]:
        try:
            with engine.connect() as conn:
                return tuple(conn.execute(text(sql)).one())
        finally:
            engine.dispose()

    async def run() -> tuple:
        try:
            async with engine.connect() as conn:
                return tuple((await conn.execute(text(sql))).one())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def mtls(pki) -> list[str]:
    return ["--credentials-dir", str(pki.creds_dir)]


def test_config_asyncpg_following_the_note_connects_with_mutual_tls(pg, pki, capsys):
    cfg, err = config(
        capsys, "asyncpg", f"postgres://avnadmin@localhost:{pg.good.port}/defaultdb", *mtls(pki)
    )
    assert cfg["tls"] == {
        "cafiles": [str(pki.creds_dir / "ca.pem")],
        "check_hostname": True,
        "verify_mode": "CERT_REQUIRED",
        "certfile": str(pki.creds_dir / "service.cert"),
        "keyfile": str(pki.creds_dir / "service.key"),
        "password": None,
        "alpn": ["postgresql"],
    }
    tls, user, client_dn = follow_asyncpg_note(cfg, note(err))
    assert tls and user == "avnadmin" and "CN=avnadmin" in client_dn


def test_config_asyncpg_without_the_note_fails_closed(pg, pki, capsys):
    import asyncpg

    cfg, _ = config(
        capsys,
        "asyncpg",
        f"postgres://tlsuser@localhost:{pg.good.port}/defaultdb",
        "--ca",
        str(pki.ca_pem),
    )

    async def naive() -> None:
        await asyncpg.connect(**cfg)

    with pytest.raises(TypeError, match="tls"):
        asyncio.run(naive())


@pytest.mark.parametrize(("sslmode", "is_refused"), [(None, True), ("verify-ca", False)])
def test_config_asyncpg_note_checks_the_host_name_as_the_mode_says(
    pg, pki, capsys, sslmode, is_refused
):
    args = ["--ca", str(pki.ca_pem)] + (["--sslmode", sslmode] if sslmode else [])
    cfg, err = config(
        capsys, "asyncpg", f"postgres://tlsuser@localhost:{pg.wronghost.port}/defaultdb", *args
    )
    if is_refused:
        refused(Why.HOST_NAME, lambda: follow_asyncpg_note(cfg, note(err)), pg.wronghost)
    else:
        assert follow_asyncpg_note(cfg, note(err))[0]


def test_config_asyncpg_require_without_a_ca_warns_and_its_note_connects(pg, capsys):
    cfg, err = config(
        capsys,
        "asyncpg",
        f"postgres://tlsuser@localhost:{pg.othersigned.port}/defaultdb?sslmode=require",
    )
    assert "NOT verified" in err and cfg["tls"]["verify_mode"] == "CERT_NONE"
    assert follow_asyncpg_note(cfg, note(err))[0]


def test_config_sqlalchemy_psycopg_is_create_engine_keywords(pg, pki, capsys):
    cfg, _ = config(
        capsys,
        "sqlalchemy",
        f"postgres://avnadmin@localhost:{pg.good.port}/defaultdb?sslmode=require",
        *mtls(pki),
    )
    from sqlalchemy.engine import make_url

    # plain postgres:// is the installed SQLAlchemy's default dialect (2.0: psycopg2; 2.1: psycopg)
    default = make_url("postgresql://").get_dialect().driver
    assert cfg["url"].startswith(f"postgresql+{default}://") and "sslmode" not in cfg["url"]
    tls, user, client_dn = engine_query(PG_SQL)(cfg)
    assert tls and user == "avnadmin" and "CN=avnadmin" in client_dn


def test_config_sqlalchemy_asyncpg_following_the_note(pg, pki, capsys):
    cfg, err = config(
        capsys,
        "sqlalchemy",
        f"postgresql+asyncpg://avnadmin@localhost:{pg.good.port}/defaultdb?sslmode=verify-full",
        *mtls(pki),
    )
    assert "sslmode" not in cfg["url"] and set(cfg["connect_args"]) == {"tls"}
    tls, user, _ = follow_sqlalchemy_note(cfg, note(err), PG_SQL)
    assert tls and user == "avnadmin"


def test_config_sqlalchemy_pymysql_following_the_note(mariadb, pki, capsys):
    cfg, err = config(
        capsys,
        "sqlalchemy",
        mariadb.url(**{"ssl-mode": "VERIFY_IDENTITY"}),
        "--ca",
        str(pki.ca_pem),
    )
    assert cfg["url"].startswith("mysql+pymysql://") and "ssl" not in cfg["url"]
    tls, user, _ = follow_sqlalchemy_note(cfg, note(err), MY_SQL)
    assert tls and user.startswith("avnadmin@")


def test_config_sqlalchemy_mysqldb_is_create_engine_keywords(maria, pki, capsys):
    db = maria("good")
    cfg, _ = config(
        capsys,
        "sqlalchemy",
        target("mysql", db, cert_user=True).replace("mysql://", "mysql+mysqldb://"),
        *mtls(pki),
    )
    assert cfg["connect_args"]["ssl_mode"] == "VERIFY_IDENTITY"
    tls, user, _ = engine_query(MY_SQL)(cfg)
    assert tls and user.startswith("x509user@")


@pytest.mark.parametrize("service", ["pg", "mysql"])
def test_config_django_is_the_databases_entry(pg, maria, pki, capsys, service):
    db = pg.good if service == "pg" else maria("good")
    cfg, _ = config(capsys, "django", target(service, db, cert_user=True), *mtls(pki))
    tls, user, _ = django_query(cfg, PG_SQL if service == "pg" else MY_SQL)
    assert tls and user.startswith("avnadmin" if service == "pg" else "x509user@")


def test_config_never_prints_key_material_and_copies_it_0600(pg, pki, tmp_path, capsys):
    import os
    import stat

    from tlsconnect._cli import main

    out_dir = tmp_path / "out"
    for driver in ("asyncpg", "sqlalchemy", "django"):
        code = main(
            [
                "config",
                "--driver",
                driver,
                f"postgres://avnadmin@localhost:{pg.good.port}/defaultdb",
                *mtls(pki),
                "--output-dir",
                str(out_dir),
            ]
        )
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "PRIVATE KEY" not in captured.out + captured.err
        assert str(out_dir / "service.key") in captured.out
    assert stat.S_IMODE(os.stat(out_dir / "service.key").st_mode) == 0o600
