"""psycopg2, pg8000 and mysql-connector-python: each driver's own trap, shown closed (or,
where the driver leaves no way to close it, shown and warned about), against the real
servers of ``test_drivers_sql.py``'s matrix: PostgreSQL 15 (``pg``) and MariaDB 10.11.

- pg8000 without a context goes on in plaintext when the server does not speak TLS; it
  is always given one, and then refuses such a server, under ``require`` too.
- mysql-connector given only ``ssl_ca`` verifies nothing; its pure-Python TLS also trusts
  the system's CAs and ``SSL_CERT_FILE`` whatever it is given (warned on every call), and
  without a CA goes on without TLS when the server offers none (warned).
- psycopg2 loads its own libpq: what needs a newer one is refused, naming both versions.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import warnings
from typing import Any

import certifi
import pytest

import tlsconnect
from _kv_servers import kv_servers
from refusals import Why
from test_drivers_sql import (
    MY_SQL,
    PG_SQL,
    PROBE,
    config,
    django_query,
    engine_query,
    follow_sqlalchemy_note,
    mtls,
    mysql_connector_query,
    note,
    pg8000_dbapi_query,
    pg8000_native_query,
    refused,
)
from tlsconnect import ConfigError, Credentials, InsecureConnectionWarning, MissingDependencyError
from tlsconnect._cli import main
from tlsconnect._configgen import generate_config
from tlsconnect.adapters._libpq import check_libpq
from tlsconnect.adapters.psycopg2 import libpq_version

SYSTEM_CAS = "system's CAs"
WITHOUT_TLS = "WITHOUT TLS"


@pytest.fixture(scope="session")
def kv_maria(pki, mariadb, request):
    """MariaDB by name: ``good``, ``othersigned``, ``plaintext`` (shared with the
    key-value family's tests)."""
    servers = kv_servers(pki, mariadb)
    request.addfinalizer(servers.stop)
    return servers.mariadb


def pg_uri(server, user: str = "tlsuser", query: str = "") -> str:
    return f"postgres://{user}@localhost:{server.port}/defaultdb{query}"


def error_chain(error: BaseException) -> str:
    """The error's text with its causes, as far as they go."""
    texts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(texts) < 6:
        texts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " <- ".join(texts)


def mysql_connector_params(target: str, *, warning: str = SYSTEM_CAS, **kwargs: Any) -> dict:
    with pytest.warns(InsecureConnectionWarning, match=warning):
        return tlsconnect.params("mysql-connector", target, **kwargs)


# -- pg8000 --------------------------------------------------------------------------------


def test_pg8000_is_given_a_context_under_require_too(pg):
    with pytest.warns(InsecureConnectionWarning, match="NOT verified"):
        p = tlsconnect.params("pg8000", pg_uri(pg.othersigned, query="?sslmode=require"))
    assert isinstance(p["ssl_context"], ssl.SSLContext)
    assert p["ssl_context"].verify_mode == ssl.CERT_NONE
    assert pg8000_native_query(p)[0] is True  # encrypted, to a server nothing verified


def test_pg8000_own_default_goes_on_in_plaintext(pg):
    """The trap: no ssl_context, and a server that does not speak TLS gets the login in
    plaintext."""
    import pg8000.native

    server = pg.get("plaintext")
    conn = pg8000.native.Connection(
        "tlsuser", host="localhost", port=server.port, database="defaultdb", timeout=10
    )
    try:
        assert conn.run(PG_SQL)[0][0] is False  # pg_stat_ssl: no TLS
    finally:
        conn.close()


@pytest.mark.parametrize(
    "connect", [pg8000_native_query, pg8000_dbapi_query], ids=["native", "dbapi"]
)
@pytest.mark.parametrize("sslmode", ["require", "verify-full"])
def test_pg8000_never_falls_back_to_plaintext(pg, pki, connect, sslmode):
    import pg8000.exceptions

    uri = pg_uri(pg.get("plaintext"))
    if sslmode == "require":
        with pytest.warns(InsecureConnectionWarning, match="NOT verified"):
            p = tlsconnect.params("pg8000", uri, sslmode="require")
    else:
        p = tlsconnect.params("pg8000", uri, ca=pki.ca_pem)
    with pytest.raises(pg8000.exceptions.InterfaceError, match="Server refuses SSL"):
        connect(p)


def test_pg8000_keywords_from_the_target_and_the_options(pg, pki):
    uri = pg_uri(
        pg.good,
        query="?sslmode=require&application_name=tls-app&connect_timeout=7"
        "&search_path=tlsconnect_path",
    )
    p = tlsconnect.params("pg8000", uri, ca=pki.ca_pem)
    assert {k: v for k, v in p.items() if k != "ssl_context"} == {
        "host": "localhost",
        "port": pg.good.port,
        "user": "tlsuser",
        "database": "defaultdb",
        "application_name": "tls-app",
        "timeout": 7.0,
        "startup_params": {"search_path": "tlsconnect_path"},
    }
    # the console's require with the project CA at hand: verify-full (chain and host name)
    assert p["ssl_context"].verify_mode == ssl.CERT_REQUIRED and p["ssl_context"].check_hostname
    import pg8000.native

    conn = pg8000.native.Connection(**p)
    try:
        assert conn.run("SHOW search_path") == [["tlsconnect_path"]]
        assert conn.run("SHOW application_name") == [["tls-app"]]
    finally:
        conn.close()
    # the caller's keywords win over the target's; TLS keywords are refused
    assert tlsconnect.params("pg8000", uri, ca=pki.ca_pem, user="other")["user"] == "other"
    for option in ("ssl_context", "unix_sock", "sslrootcert"):
        with pytest.raises(ConfigError, match="set by tlsconnect"):
            tlsconnect.params("pg8000", uri, ca=pki.ca_pem, **{option: None})


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("postgres://u@h1:5432,h2:5432/db", "one host"),
        ("host=/var/run/postgresql user=u", "Unix socket"),
        ("postgres://h:5432/db", "needs a user"),
        ("postgres://u@h:5432/db?gssencmode=prefer", "gssencmode"),
    ],
)
def test_pg8000_refuses_what_it_cannot_take(pki, target, message):
    with pytest.raises(ConfigError, match=message):
        tlsconnect.params("pg8000", target, ca=pki.ca_pem)


def test_config_pg8000_following_the_note_connects_with_mutual_tls(pg, pki, capsys):
    cfg, err = config(capsys, "pg8000", pg_uri(pg.good, "avnadmin"), *mtls(pki))
    assert cfg["tls"]["cafiles"] == [str(pki.creds_dir / "ca.pem")]
    import pg8000.native

    namespace: dict[str, Any] = {"cfg": cfg, "pg8000": pg8000}
    exec(note(err), namespace)
    conn = namespace["conn"]
    try:
        ssl_on, user, client_dn = conn.run(PG_SQL)[0]
    finally:
        conn.close()
    assert ssl_on and user == "avnadmin" and "CN=avnadmin" in client_dn


def test_sqlalchemy_pg8000_carries_the_target_keywords(pg, pki, capsys):
    uri = pg_uri(pg.good, query="?application_name=sa-pg8000").replace(
        "postgres://", "postgresql+pg8000://"
    )
    p = tlsconnect.params("sqlalchemy", uri, ca=pki.ca_pem)
    assert set(p["connect_args"]) == {"application_name", "ssl_context"}
    from sqlalchemy import create_engine, text

    engine = create_engine(**p)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW application_name")).scalar() == "sa-pg8000"
    finally:
        engine.dispose()
    # written out: the note builds the context and hands it as ssl_context
    cfg, err = config(capsys, "sqlalchemy", uri, "--ca", str(pki.ca_pem))
    assert set(cfg["connect_args"]) == {"application_name", "tls"}
    assert follow_sqlalchemy_note(cfg, note(err), PG_SQL)[0] is True


# -- psycopg2 ------------------------------------------------------------------------------


def test_psycopg2_parameters_are_libpqs(pg, pki):
    uri = pg_uri(pg.good, "avnadmin", "?sslmode=require")
    creds = Credentials.from_directory(pki.creds_dir)
    assert tlsconnect.params("psycopg2", uri, credentials=creds) == tlsconnect.params(
        "psycopg", uri, credentials=creds
    )


def test_psycopg2_refuses_what_its_libpq_is_too_old_for_naming_both_versions():
    with pytest.raises(
        ConfigError, match=r"needs libpq 16\.0 or later, and psycopg2 uses libpq 15\.4"
    ):
        check_libpq({"sslrootcert": "system"}, 150004, "psycopg2", "upgrade it")
    check_libpq({"sslrootcert": "system"}, 160000, "psycopg2", "upgrade it")
    check_libpq({"sslrootcert": "/ca.pem"}, 150004, "psycopg2", "upgrade it")


def test_psycopg2_libpq_reads_sslrootcert_system_as_the_check_says(pg):
    """psycopg2-binary's own libpq (17 here) passes the check, and really reads
    ``sslrootcert=system`` as the system's CAs: the project CA's server is refused for a
    verify reason, not for a missing file named "system"."""
    import psycopg2

    version = libpq_version()
    assert version >= 160000, version
    check_libpq({"sslrootcert": "system"}, version, "psycopg2", "upgrade it")
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(
            host="localhost",
            port=pg.good.port,
            user="tlsuser",
            dbname="defaultdb",
            sslmode="verify-full",
            sslrootcert="system",
            sslcert="/dev/null/none",
            sslkey="/dev/null/none",
            connect_timeout=10,
        ).close()


def test_config_psycopg2_conninfo_connects_with_mutual_tls(pg, pki, capsys):
    import psycopg2

    assert main(["config", "--driver", "psycopg2", pg_uri(pg.good, "avnadmin"), *mtls(pki)]) == 0
    out = capsys.readouterr().out
    assert "sslmode=verify-full" in out
    conn = psycopg2.connect(out.strip(), connect_timeout=10)
    try:
        with conn.cursor() as cursor:
            cursor.execute(PG_SQL)
            ssl_on, user, client_dn = cursor.fetchone()
    finally:
        conn.close()
    assert ssl_on and user == "avnadmin" and "CN=avnadmin" in client_dn


# -- SQLAlchemy's plain postgresql:// and Django with psycopg2 --------------------------


def test_sqlalchemy_plain_postgresql_follows_sqlalchemys_own_mapping(pki):
    from sqlalchemy.engine import make_url

    mapped = make_url("postgresql://").get_dialect().driver  # 2.0: psycopg2; 2.1: psycopg
    for uri in ("postgres://u@h:5432/db", "postgresql://u@h:5432/db", "host=h dbname=db"):
        p = tlsconnect.params("sqlalchemy", uri, ca=pki.ca_pem)
        assert p["url"].drivername == f"postgresql+{mapped}"
        assert p["connect_args"]["sslmode"] == "verify-full"


def test_sqlalchemy_plain_postgresql_written_where_sqlalchemy_is_absent(pki, monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as if it were not installed
    written = json.loads(
        generate_config("sqlalchemy", "postgres://u@h:5432/db", ca=str(pki.ca_pem)).text
    )
    # libpq's words, which psycopg and psycopg2 read alike: whichever SQLAlchemy maps it
    assert written["url"] == "postgresql://u@h:5432/db"
    assert written["connect_args"]["sslmode"] == "verify-full"


def test_django_postgresql_engine_with_psycopg2_instead_of_psycopg(pg, pki, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if only psycopg2 were installed
    p = tlsconnect.params(
        "django",
        pg_uri(pg.good, "avnadmin"),
        credentials=Credentials.from_directory(pki.creds_dir),
    )
    assert p["OPTIONS"]["sslmode"] == "verify-full"
    ssl_on, user, client_dn = django_query(p, PG_SQL, hide=("psycopg",))
    assert ssl_on and user == "avnadmin" and "CN=avnadmin" in client_dn
    # and the probe did run on psycopg2
    spec = json.dumps({"database": p, "sql": "SELECT 1", "hide": ["psycopg"]})
    done = subprocess.run(
        [sys.executable, str(PROBE), spec], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1])["psycopg3"] is False
    # neither installed: the extra is named
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(MissingDependencyError, match=r"tlsconnect\[postgres\]"):
        tlsconnect.params("django", pg_uri(pg.good), ca=pki.ca_pem)


# -- mysql-connector -----------------------------------------------------------------------


def test_mysql_connector_says_what_it_verifies_explicitly(mariadb, pki):
    p = mysql_connector_params(mariadb.url(**{"ssl-mode": "VERIFY_IDENTITY"}), ca=pki.ca_pem)
    assert p["use_pure"] is True and p["ssl_disabled"] is False
    assert (p["ssl_verify_cert"], p["ssl_verify_identity"]) == (True, True)
    assert p["ssl_ca"] == str(pki.ca_pem)
    p = mysql_connector_params(mariadb.url(), ca=pki.ca_pem, sslmode="verify-ca")
    assert (p["ssl_verify_cert"], p["ssl_verify_identity"]) == (True, False)


def test_mysql_connector_own_ssl_ca_option_would_have_accepted_the_other_ca(kv_maria, pki):
    """The trap: given only ssl_ca, mysql-connector verifies nothing."""
    import mysql.connector

    server = kv_maria("othersigned")
    conn = mysql.connector.connect(
        host="localhost",
        port=server.port,
        user=server.user,
        password=server.password,
        ssl_ca=str(pki.ca_pem),
        use_pure=True,
        connection_timeout=10,
    )
    conn.close()  # it connected to a server the CA given never signed
    p = mysql_connector_params(server.url(), ca=pki.ca_pem)
    refused(Why.UNTRUSTED_ISSUER, lambda: mysql_connector_query(p), server)


def test_mysql_connector_trusts_ssl_cert_file_whatever_it_is_given(kv_maria, pki, monkeypatch):
    """What no option closes: its pure-Python TLS calls load_default_certs(), so a foreign
    CA named by SSL_CERT_FILE is trusted besides the project CA. tlsconnect warns on every
    call (and README says so); PyMySQL, given the plan's context, refuses the same server.
    If this starts failing, mysql-connector pins the trust now: drop the warning."""
    import pymysql

    monkeypatch.setenv("SSL_CERT_FILE", str(pki.other_ca_pem))
    server = kv_maria("othersigned")
    p = mysql_connector_params(server.url(), ca=pki.ca_pem)
    assert mysql_connector_query(p)[0] == 1  # the limitation, shown: TLS to the foreign CA's server
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(**tlsconnect.params("pymysql", server.url(), ca=pki.ca_pem)).close()
    assert "certificate verify failed" in error_chain(info.value)


def test_mysql_connector_warns_on_every_call_unless_the_system_store_is_the_plan(mariadb, pki):
    for _ in range(2):
        mysql_connector_params(mariadb.url(), ca=pki.ca_pem)
    with pytest.warns(InsecureConnectionWarning, match=SYSTEM_CAS):
        p = tlsconnect.params("mysql-connector", mariadb.url(), trust="public")
    # the public CAs are named, never left to SSL_CERT_FILE
    assert p["ssl_ca"] == certifi.where()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = tlsconnect.params("mysql-connector", mariadb.url(), trust="system")
    assert p["ssl_verify_cert"] is True


def test_mysql_connector_without_tls_on_the_server(kv_maria, pki):
    import mysql.connector

    server = kv_maria("plaintext")
    # verifying: refused before the login
    p = mysql_connector_params(server.url(), ca=pki.ca_pem)
    with pytest.raises(mysql.connector.errors.InterfaceError, match="SSL is required"):
        mysql_connector_query(p)
    # require without a CA: it goes on without TLS, as the warning said
    with pytest.warns(InsecureConnectionWarning, match="NOT verified"):
        p = mysql_connector_params(server.url(), warning=WITHOUT_TLS, sslmode="require")
    assert mysql_connector_query(p)[0] == 0  # SSL_CIPHER is empty: plaintext


def test_mysql_connector_refuses_what_it_cannot_do(mariadb, pki):
    with pytest.raises(ConfigError, match="no option for the key's password"):
        tlsconnect.params(
            "mysql-connector",
            mariadb.url(user=mariadb.x509_user),
            ca=pki.ca_pem,
            cert=pki.client.cert_path,
            key=pki.client_key_encrypted_path,
            key_password=pki.client_key_password,
        )
    for option in ("ssl_ca", "ssl_verify_cert", "use_pure", "option_files"):
        with pytest.raises(ConfigError, match="set by tlsconnect"):
            mysql_connector_params(mariadb.url(), ca=pki.ca_pem, **{option: "x"})
    with pytest.raises(ConfigError, match="unix_socket= makes the driver use a local Unix socket"):
        tlsconnect.params("mysql-connector", mariadb.url(), ca=pki.ca_pem, unix_socket="x")
    with pytest.raises(ConfigError, match="Unix socket"):
        tlsconnect.params("mysql-connector", "", host="/run/mysqld/mysqld.sock", ca=pki.ca_pem)


def test_config_mysql_connector_json_connects_with_a_client_certificate(mariadb, pki, capsys):
    cfg, err = config(capsys, "mysql-connector", mariadb.url(user=mariadb.x509_user), *mtls(pki))
    assert SYSTEM_CAS in err
    assert cfg["ssl_cert"] == str(pki.creds_dir / "service.cert")
    assert mysql_connector_query(cfg)[0] == 1
    import mysql.connector

    conn = mysql.connector.connect(**cfg)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT CURRENT_USER()")
        assert cursor.fetchone()[0].startswith(f"{mariadb.x509_user}@")
    finally:
        conn.close()


def test_sqlalchemy_mysqlconnector_connects_with_use_pure(mariadb, pki):
    with pytest.warns(InsecureConnectionWarning, match=SYSTEM_CAS):
        p = tlsconnect.params(
            "sqlalchemy",
            mariadb.url().replace("mysql://", "mysql+mysqlconnector://"),
            ca=pki.ca_pem,
        )
    assert p["connect_args"]["use_pure"] is True
    assert p["url"].drivername == "mysql+mysqlconnector" and "ssl" not in str(p["url"])
    assert engine_query(MY_SQL)(p)[0] == 1


# -- every new name ------------------------------------------------------------------------


def test_drivers_lists_the_new_names():
    assert {"psycopg2", "pg8000", "mysql-connector"} <= set(tlsconnect.drivers())


@pytest.mark.parametrize(
    ("driver", "module", "extra", "target", "options"),
    [
        ("psycopg2", "psycopg2", "psycopg2", "postgres://u@h:5432/db", {}),
        ("pg8000", "pg8000", "pg8000", "postgres://u@h:5432/db", {}),
        ("mysql-connector", "mysql.connector", "mysql-connector", "mysql://u:p@h:3306/db", {}),
        ("sqlalchemy", "psycopg2", "psycopg2", "postgresql+psycopg2://u@h:5432/db", {}),
        ("sqlalchemy", "pg8000", "pg8000", "postgresql+pg8000://u@h:5432/db", {}),
        (
            "sqlalchemy",
            "mysql.connector",
            "mysql-connector",
            "mysql+mysqlconnector://u:p@h:3306/db",
            {},
        ),
    ],
)
def test_a_missing_driver_names_its_extra(pki, monkeypatch, driver, module, extra, target, options):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(MissingDependencyError) as info:
        tlsconnect.params(driver, target, ca=pki.ca_pem, **options)
    assert f'pip install "tlsconnect[{extra}]"' in str(info.value)


def test_config_sqlalchemy_mysqlconnector_is_create_engine_keywords(mariadb, pki, capsys):
    uri = mariadb.url(user=mariadb.x509_user).replace("mysql://", "mysql+mysqlconnector://")
    cfg, err = config(capsys, "sqlalchemy", uri, *mtls(pki))
    assert SYSTEM_CAS in err
    assert cfg["url"].startswith("mysql+mysqlconnector://") and "ssl" not in cfg["url"]
    assert cfg["connect_args"]["ssl_verify_cert"] is True
    from sqlalchemy import create_engine, text

    engine = create_engine(**cfg)
    try:
        with engine.connect() as conn:
            user = conn.execute(text("SELECT CURRENT_USER()")).scalar()
    finally:
        engine.dispose()
    assert user.startswith(f"{mariadb.x509_user}@")
