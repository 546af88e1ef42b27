"""Safety II (issue 16): places where the result was less safe than the user had reason to
believe. Each test fails on the code before the fix, against a real server where one is
involved.

* The console's ``sslmode=require`` (MySQL: ``ssl-mode=REQUIRED``) with the project CA at
  hand is verify-full, and ``explain()`` says so; an ``sslmode`` argument stays as given.
* Unix sockets (no TLS at all) are refused for every PostgreSQL and MySQL driver.
* libpq never replaces TLS with GSSAPI encryption.
* aiomysql's parameters warn that a server greeting can talk it out of TLS.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import time
import warnings

import psycopg
import pytest

import tlsconnect
from tlsconnect import ConfigError, ErrorClass, TLSDowngradeWarning
from tlsconnect._cli import main as cli_main
from tlsconnect._configgen import generate_config
from tlsconnect._files import MemoryFiles

PG_DRIVERS = ["psycopg", "asyncpg", "sqlalchemy", "django"]
MYSQL_DRIVERS = ["pymysql", "aiomysql", "sqlalchemy", "django"]


def console_uri(server, host: str = "localhost", word: str = "sslmode=require") -> str:
    """What the console shows: a service URI ending in ``?sslmode=require``."""
    return f"postgres://tlsuser@{host}:{server.port}/defaultdb?{word}"


def select_ssl(params: dict) -> bool:
    with psycopg.connect(**params, connect_timeout=10) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row is not None
    return bool(row[0])


# -- 1. the console's sslmode=require with the project CA at hand ------------------------


def test_console_require_with_the_ca_is_verify_full_and_refuses_a_wrong_host(pg, pki):
    params = tlsconnect.params("psycopg", console_uri(pg.wronghost), ca=pki.ca_pem)
    assert params["sslmode"] == "verify-full"
    # libpq itself refuses the server whose certificate names another host
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        select_ssl(params)
    # the same target and CA to the right server connects, verified
    assert select_ssl(tlsconnect.params("psycopg", console_uri(pg.good), ca=pki.ca_pem))


def test_an_sslmode_argument_stays_as_given_libpqs_rule(pg, pki):
    params = tlsconnect.params(
        "psycopg", console_uri(pg.wronghost), ca=pki.ca_pem, sslmode="require"
    )
    assert params["sslmode"] == "verify-ca"  # require + CA: the chain only, as libpq does
    assert select_ssl(params)
    plan = tlsconnect.resolve(
        "postgresql", target=console_uri(pg.wronghost), ca=pki.ca_pem, sslmode="require"
    )
    assert (plan.sslmode, plan.check_hostname) == ("require", False)
    assert "raised" not in plan.explain()


def test_a_target_naming_its_own_root_certificate_stays_as_given(pg, pki):
    uri = console_uri(pg.wronghost) + f"&sslrootcert={pki.ca_pem}"
    params = tlsconnect.psycopg_params(uri)
    assert params["sslmode"] == "verify-ca"  # libpq's rule for the target's own files
    assert select_ssl(params)


def test_explain_says_the_targets_word_was_raised_and_how_to_keep_verify_ca(pki):
    uri = "postgres://avnadmin:pw@pg-1.example.com:12345/defaultdb?sslmode=require"
    plan = tlsconnect.resolve("postgresql", target=uri, ca=pki.ca_pem)
    assert (plan.sslmode, plan.verify_chain, plan.check_hostname) == ("verify-full", True, True)
    text = plan.explain()
    assert "sslmode=require" in text and "raised to verify-full" in text
    assert 'sslmode="verify-ca"' in text
    # explain() shows what params() does: the same plan
    assert tlsconnect.params("psycopg", uri, ca=pki.ca_pem)["sslmode"] == "verify-full"
    # without a CA nothing is raised: require verifies nothing, and says so
    with pytest.warns(tlsconnect.InsecureConnectionWarning):
        assert tlsconnect.resolve("postgresql", target=uri).verify_chain is False


@pytest.mark.parametrize("word", ["ssl-mode=REQUIRED", "ssl_mode=required", "ssl=true"])
@pytest.mark.parametrize("driver", ["pymysql", "aiomysql"])
def test_mysql_console_required_with_the_ca_checks_the_host(pki, driver, word):
    uri = f"mysql://avnadmin:pw@mysql-1.example.com:12345/defaultdb?{word}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TLSDowngradeWarning)
        raised = tlsconnect.params(driver, uri, ca=pki.ca_pem)["ssl"]
        kept = tlsconnect.params(driver, uri, ca=pki.ca_pem, sslmode="require")["ssl"]
    assert raised.verify_mode == ssl.CERT_REQUIRED and raised.check_hostname
    assert kept.verify_mode == ssl.CERT_REQUIRED and not kept.check_hostname


def test_a_target_that_turns_verification_off_is_not_raised(pki):
    # redis-py's ssl_cert_reqs=none is a choice, not the console's default: as before
    uri = "rediss://default:pw@redis-1.example.com:12345?ssl_cert_reqs=none"
    plan = tlsconnect.resolve("redis", target=uri, ca=pki.ca_pem)
    assert (plan.sslmode, plan.check_hostname) == ("require", False)


def test_check_of_the_console_uri_verifies_the_host_and_says_the_target_asked_for_require(pg, pki):
    report = tlsconnect.check(console_uri(pg.wronghost), ca=pki.ca_pem)
    assert not report.ok and report.error_class == ErrorClass.HOSTNAME_MISMATCH.value
    assert report.sslmode == "verify-full"
    assert "asked only for sslmode=require" in report.error
    assert "sslmode='verify-ca'" in report.fix
    # the same server, the word given as an argument: the chain only, and it passes
    assert tlsconnect.check(console_uri(pg.wronghost), ca=pki.ca_pem, sslmode="require").ok


def test_own_contexts_host_name_failure_says_the_target_asked_for_require(tls_server, pki):
    server = tls_server("wronghost")
    uri = f"mysql://u:p@localhost:{server.port}/db?ssl-mode=REQUIRED"
    context = tlsconnect.resolve("mysql", target=uri, ca=pki.ca_pem).ssl_context()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError) as caught:
            context.wrap_socket(raw, server_hostname="localhost")
    assert caught.value.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
    assert "asked only for ssl-mode=REQUIRED" in str(caught.value)


def test_config_writes_verify_full_for_the_console_uri(pki, capsys):
    uri = "postgres://avnadmin@pg-1.example.com:12345/defaultdb?sslmode=require"
    assert cli_main(["config", "--driver", "psycopg", uri, "--ca", str(pki.ca_pem)]) == 0
    assert "sslmode=verify-full" in capsys.readouterr().out


# -- 2. Unix sockets ---------------------------------------------------------------------

SOCKET_HOSTS = {
    "empty": "",
    "path": "/var/run/postgresql",
    "abstract": "@pgsocket",
    "windows-backslash": "C:\\pgsocket",
    "windows-slash": "C:/pgsocket",
    "list": "pg-1.example.com,/tmp",
}


@pytest.mark.parametrize("host", SOCKET_HOSTS.values(), ids=SOCKET_HOSTS.keys())
@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_postgresql_unix_socket_hosts_are_refused(pki, driver, host):
    quoted = host.replace("\\", "\\\\")  # a backslash is an escape in a conninfo
    target = f"host='{quoted}' port=5432 dbname=defaultdb user=u"
    with pytest.raises(ConfigError, match="Unix socket") as caught:
        tlsconnect.params(driver, target, ca=pki.ca_pem)
    assert "no TLS is spoken" in str(caught.value)


@pytest.mark.parametrize(
    "target",
    ["dbname=defaultdb user=u", "postgresql:///defaultdb", "postgresql://u@h/db?host=/tmp"],
)
@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_postgresql_targets_without_a_tcp_host_are_refused(pki, driver, target):
    with pytest.raises(ConfigError, match="Unix socket"):
        tlsconnect.params(driver, target, ca=pki.ca_pem)


def test_a_host_given_as_an_option_is_checked_too(pki):
    with pytest.raises(ConfigError, match="Unix socket"):
        tlsconnect.psycopg_params("dbname=x", ca=pki.ca_pem, host="/tmp")
    with pytest.raises(ConfigError, match="Unix socket"):
        tlsconnect.params("asyncpg", "postgresql://u@h/db", ca=pki.ca_pem, host="/tmp")
    with pytest.raises(ConfigError, match="Unix socket"):
        tlsconnect.params("django", "postgresql://u@h/db", ca=pki.ca_pem, HOST="")
    # hostaddr gives libpq the address of an empty host entry: TCP, allowed
    assert tlsconnect.psycopg_params("hostaddr=127.0.0.1", ca=pki.ca_pem)["hostaddr"]


@pytest.mark.parametrize("host", SOCKET_HOSTS.values(), ids=SOCKET_HOSTS.keys())
@pytest.mark.parametrize("driver", ["pymysql", "aiomysql", "django"])
def test_mysql_unix_socket_hosts_are_refused(pki, driver, host):
    options = {"ENGINE": "django.db.backends.mysql", "HOST": host} if driver == "django" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TLSDowngradeWarning)
        with pytest.raises(ConfigError, match="Unix socket"):
            if driver == "django":
                tlsconnect.params(driver, "h:3306", ca=pki.ca_pem, **options)
            else:
                tlsconnect.params(driver, "h:3306", ca=pki.ca_pem, host=host or " ")


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_unix_socket_option_is_refused(pki, driver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TLSDowngradeWarning)
        with pytest.raises(ConfigError, match="Unix socket"):
            tlsconnect.params(driver, "mysql://u:p@h:3306/db?unix_socket=/s", ca=pki.ca_pem)
        if driver in ("pymysql", "aiomysql"):
            with pytest.raises(ConfigError, match="Unix socket"):
                tlsconnect.params(driver, "mysql://u:p@h:3306/db", ca=pki.ca_pem, unix_socket="/s")


def test_mysqlclient_localhost_is_still_refused(pki):
    with pytest.raises(ConfigError, match="localhost"):
        tlsconnect.params("django", "mysql://u:p@localhost:3306/db", ca=pki.ca_pem)


def test_config_refuses_a_unix_socket_target(pki, capsys):
    code = cli_main(["config", "--driver", "psycopg", "dbname=x", "--ca", str(pki.ca_pem)])
    assert code == 2
    assert "Unix socket" in capsys.readouterr().err


# -- 3. GSSAPI encryption ----------------------------------------------------------------


def test_libpq_results_carry_gssencmode_disable_and_connect(pg, pki):
    params = tlsconnect.params("psycopg", console_uri(pg.good), ca=pki.ca_pem)
    assert params["gssencmode"] == "disable"
    assert select_ssl(params)  # libpq takes it, and the connection is TLS
    django = tlsconnect.params("django", console_uri(pg.good), ca=pki.ca_pem)
    assert django["OPTIONS"]["gssencmode"] == "disable"
    sqlalchemy = tlsconnect.params("sqlalchemy", console_uri(pg.good), ca=pki.ca_pem)
    assert sqlalchemy["connect_args"]["gssencmode"] == "disable"


def test_libpq_env_config_disables_gss_encryption(pki, capsys):
    uri = "postgres://u@pg-1.example.com:12345/db"
    assert cli_main(["config", "--driver", "libpq-env", uri, "--ca", str(pki.ca_pem)]) == 0
    assert "export PGGSSENCMODE=disable" in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["prefer", "require"])
@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_a_target_asking_for_gss_encryption_is_refused(pki, driver, mode):
    with pytest.raises(ConfigError, match="GSSAPI encryption"):
        tlsconnect.params(driver, f"host=h dbname=d gssencmode={mode}", ca=pki.ca_pem)


def test_gssencmode_as_an_option_is_refused(pki):
    with pytest.raises(ConfigError, match="GSSAPI encryption"):
        tlsconnect.psycopg_params("host=h dbname=d", ca=pki.ca_pem, gssencmode="prefer")
    with pytest.raises(ConfigError, match="gssencmode"):
        tlsconnect.params("django", "host=h", ca=pki.ca_pem, OPTIONS={"gssencmode": "prefer"})


# -- 4. aiomysql can be talked out of TLS ------------------------------------------------


def test_aiomysql_params_warn_of_the_downgrade_every_time(pki):
    uri = "mysql://u:p@mysql-1.example.com:12345/db?ssl-mode=REQUIRED"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            tlsconnect.params("aiomysql", uri, ca=pki.ca_pem)
    found = [w for w in caught if issubclass(w.category, TLSDowngradeWarning)]
    assert len(found) == 2, [str(w.message) for w in caught]
    text = str(found[0].message)
    assert "without the SSL flag" in text and "WITHOUT TLS" in text
    assert found[0].filename == __file__  # it points at the caller's line
    assert issubclass(TLSDowngradeWarning, tlsconnect.TLSConnectWarning)


def test_pymysql_params_do_not_warn(pki):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tlsconnect.params("pymysql", "mysql://u:p@h:3306/db", ca=pki.ca_pem)


# -- Smaller ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        "ssl.ca.location",
        "ssl.ca.certificate.stores",
        "enable.ssl.certificate.verification",
        "ssl.endpoint.identification.algorithm",
    ],
)
def test_confluent_kafka_refuses_an_option_that_adds_trust(pki, option):
    with pytest.raises(ConfigError, match="add trust|set by tlsconnect") as caught:
        tlsconnect.params(
            "confluent-kafka",
            "kafka-1.example.com:12345",
            ca=pki.ca_pem,
            cert=pki.client.cert_path,
            key=pki.client.key_path,
            **{option: "/etc/ssl/certs/ca-certificates.crt"},
        )
    assert option in str(caught.value)
    # other librdkafka properties pass through
    config = tlsconnect.params(
        "confluent-kafka",
        "kafka-1.example.com:12345",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
        **{"client.id": "app"},
    )
    assert config["client.id"] == "app" and "ssl.ca.location" not in config


@pytest.mark.parametrize(
    ("driver", "target", "option"),
    [
        ("kafka-python", "kafka-1.example.com:12345", {"ssl_cafile": "/etc/ssl/cert.pem"}),
        ("aiokafka", "kafka-1.example.com:12345", {"ssl_check_hostname": False}),
        ("cassandra", "cassandra://u:p@h:9042", {"ssl_options": None, "cert_reqs": 0}),
    ],
)
def test_no_passthrough_option_adds_trust_or_weakens_verification(pki, driver, target, option):
    options = {k: v for k, v in option.items() if v is not None}
    with pytest.raises(ConfigError, match="add trust|set by tlsconnect"):
        tlsconnect.params(
            driver,
            target,
            ca=pki.ca_pem,
            cert=pki.client.cert_path,
            key=pki.client.key_path,
            **options,
        )


@pytest.mark.parametrize("port", [-5, 0, 99999, "٣٣٠٦"])
@pytest.mark.parametrize(
    ("driver", "target", "name"),
    [
        ("pymysql", "mysql://u:p@h:3306/db", "port"),
        ("aiomysql", "mysql://u:p@h:3306/db", "port"),
        ("redis", "rediss://u:p@h:6379", "port"),
        ("asyncpg", "postgresql://u@h:5432/db", "port"),
        ("django", "mysql://u:p@h:3306/db", "PORT"),
    ],
)
def test_one_port_validator_for_every_form(pki, driver, target, name, port):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TLSDowngradeWarning)
        with pytest.raises(ConfigError, match="is not a number from 1 to 65535"):
            tlsconnect.params(driver, target, ca=pki.ca_pem, **{name: port})


def test_relative_material_paths_become_absolute(pki, tmp_path, monkeypatch):
    import shutil

    shutil.copy(pki.ca_pem, tmp_path / "ca.pem")
    shutil.copy(pki.client.cert_path, tmp_path / "service.cert")
    shutil.copy(pki.client.key_path, tmp_path / "service.key")
    (tmp_path / "service.key").chmod(0o600)
    monkeypatch.chdir(tmp_path)
    relative = {"ca": "ca.pem", "cert": "service.cert", "key": "service.key"}
    results = [
        tlsconnect.psycopg_params("host=h dbname=d", **relative),
        tlsconnect.psycopg_params("host=h dbname=d sslrootcert=ca.pem"),
        tlsconnect.params("requests", "https://h:443", **relative),
        tlsconnect.params("kafka-python", "h:9092", **relative, sasl_username=None),
    ]
    results.append(
        json.loads(generate_config("asyncpg", "postgres://u@h:5432/d", ca="ca.pem").text)["tls"]
    )
    monkeypatch.chdir("/")  # a later chdir must not change what the results name
    named = [value for value in strings_in(results) if value.endswith(MATERIAL_NAMES)]
    assert len(named) >= 5, named  # the user's files, named in the results
    for path in named:
        assert os.path.isabs(path) and os.path.exists(path), path


MATERIAL_NAMES = ("ca.pem", "service.cert", "service.key")


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [text for item in value for text in strings_in(item)]
    return []


def test_a_credentials_directory_without_ca_pem_is_named_in_the_no_ca_error(pki, tmp_path):
    import shutil

    shutil.copy(pki.client.cert_path, tmp_path / "service.cert")
    shutil.copy(pki.client.key_path, tmp_path / "service.key")
    (tmp_path / "service.key").chmod(0o600)
    credentials = tlsconnect.Credentials.from_directory(tmp_path)
    with pytest.raises(ConfigError) as caught:
        tlsconnect.params("psycopg", "host=h dbname=d", credentials=credentials)
    message = str(caught.value)
    assert "none was given" in message  # the plan's own words stay
    assert f"'{tmp_path}' has no ca.pem" in message
    assert "service.cert, service.key" in message


def test_cli_credentials_dir_with_ca_takes_the_ca_given(pki, tmp_path, capsys):
    import shutil

    shutil.copy(pki.client.cert_path, tmp_path / "service.cert")
    shutil.copy(pki.client.key_path, tmp_path / "service.key")
    (tmp_path / "service.key").chmod(0o600)
    uri = "postgres://u@pg-1.example.com:12345/db"
    args = ["config", "--driver", "psycopg", uri, "--credentials-dir", str(tmp_path)]
    assert cli_main([*args, "--ca", str(pki.ca_pem)]) == 0
    out = capsys.readouterr().out
    assert f"sslrootcert={pki.ca_pem}" in out
    assert f"sslcert={tmp_path / 'service.cert'}" in out
    # --cert and --key replace the directory's pair only together
    assert cli_main([*args, "--ca", str(pki.ca_pem), "--cert", str(pki.client.cert_path)]) == 2
    assert "--cert and --key" in capsys.readouterr().err
    both = [*args, "--cert", str(pki.client.cert_path), "--key", str(pki.client.key_path)]
    assert cli_main([*both, "--ca", str(pki.ca_pem)]) == 0
    assert f"sslcert={pki.client.cert_path}" in capsys.readouterr().out


def test_check_takes_credentials_dir_with_ca(pg, pki, tmp_path):
    import shutil

    shutil.copy(pki.client.cert_path, tmp_path / "service.cert")
    shutil.copy(pki.client.key_path, tmp_path / "service.key")
    (tmp_path / "service.key").chmod(0o600)
    target = f"postgres://tlsuser@localhost:{pg.good.port}/defaultdb"
    args = ["check", target, "--credentials-dir", str(tmp_path), "--ca", str(pki.ca_pem)]
    assert cli_main([*args, "--json"]) == 0


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_memory_files_close_their_descriptors_on_any_exception():
    before = open_descriptors()
    for _ in range(5):
        with pytest.raises(TypeError):
            with MemoryFiles(b"-----BEGIN CERTIFICATE-----\n", "not bytes"):  # type: ignore[arg-type]
                pass
    assert open_descriptors() == before


class SlowRedis:
    """A TLS server on loopback that answers PING one byte a second, forever."""

    def __init__(self, pki) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(*pki.server.pair)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            threading.Thread(target=self.drip, args=(raw,), daemon=True).start()

    def drip(self, raw: socket.socket) -> None:
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                tls.settimeout(30)
                tls.recv(64)  # the PING
                tls.sendall(b"+")
                while not self.stop.wait(1.0):
                    tls.sendall(b"P")
        except OSError:
            return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)


def test_check_is_bounded_in_total_time_by_a_slow_server(pki):
    server = SlowRedis(pki)
    try:
        started = time.monotonic()
        report = tlsconnect.check(
            f"rediss://localhost:{server.port}", ca=pki.ca_pem, trust="project", timeout=2.5
        )
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert not report.ok
    assert "timed out" in (report.error or "").lower() or "time" in (report.error or "").lower()
    # a byte a second kept each read alive: only a total bound ends it by --timeout
    assert elapsed < 4.5, elapsed
