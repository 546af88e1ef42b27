"""redis-py and valkey-py (sync and asyncio), PyMySQL and aiomysql parameters, each against
real servers: Redis 7 on a TLS port (standing in for Valkey too: same protocol) and MariaDB
10.11 requiring TLS, one server per certificate (good, wronghost, othersigned).

verify-full and verify-ca mean the same in every driver's output; the trust is exactly
the plan's even where the driver's own options would widen it (redis-py) or verify
nothing (PyMySQL with only ``ssl_ca``).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import ssl
import subprocess
import sys
import textwrap

import pytest

import tlsconnect
from _kv_servers import REDIS_PASSWORD, REDIS_USER, KVServers, kv_servers
from refusals import Why, expect_refusal
from tlsconnect import ConfigError, InsecureConnectionWarning
from tlsconnect.testing import quiet_resource_leaks

# aiomysql's parameters warn on every call (it can be talked out of TLS); the warning itself
# is held by tests/test_safety_ii.py.
pytestmark = pytest.mark.filterwarnings("ignore::tlsconnect.TLSDowngradeWarning")

REDIS_DRIVERS = ["redis", "redis-asyncio", "valkey", "valkey-asyncio"]
MYSQL_DRIVERS = ["pymysql", "aiomysql"]


@pytest.fixture(scope="session")
def kv(pki, mariadb, request) -> KVServers:
    servers = kv_servers(pki, mariadb)
    request.addfinalizer(servers.stop)
    return servers


# -- one small round trip per driver -----------------------------------------------------


def _library(driver: str):
    """redis-py or valkey-py, the module a driver name means."""
    return importlib.import_module(driver.removesuffix("-asyncio"))


def _client_class(driver: str):
    library = _library(driver)
    flavour = library.asyncio if driver.endswith("-asyncio") else library
    return getattr(flavour, "Valkey" if driver.startswith("valkey") else "Redis")


def _no_retry(driver: str) -> dict:
    """Fail fast: redis-py (and valkey-py) retry a refused connection with backoff by
    default, and a plaintext server never finishes the handshake."""
    name = driver.removesuffix("-asyncio")
    retry = importlib.import_module(
        f"{name}.asyncio.retry" if "-asyncio" in driver else f"{name}.retry"
    )
    backoff = importlib.import_module(f"{name}.backoff")
    return {"retry": retry.Retry(backoff.NoBackoff(), 0), "socket_connect_timeout": 3}


def _command_name(client) -> tuple:
    """valkey-py's get_connection() still needs the command's name; redis-py 6+ does not
    (and deprecates it)."""
    parameter = inspect.signature(client.connection_pool.get_connection).parameters.get(
        "command_name"
    )
    return ("PING",) if parameter is not None and parameter.default is parameter.empty else ()


def redis_round_trip(driver: str, p: dict) -> dict:
    """PING, SET, GET; and what the connection's socket says about TLS."""
    if not driver.endswith("-asyncio"):
        client = _client_class(driver)(**p)
        try:
            assert client.ping() is True
            client.set("tlsconnect", "kv")
            value = client.get("tlsconnect")
            connection = client.connection_pool.get_connection(*_command_name(client))
            try:
                sock = connection._sock
                info = {"version": sock.version(), "peer": bool(sock.getpeercert(True))}
            finally:
                client.connection_pool.release(connection)
            info["value"] = value
            info["whoami"] = client.execute_command("ACL", "WHOAMI")
            return info
        finally:
            client.close()
            p["connection_pool"].disconnect()

    async def run() -> dict:
        client = _client_class(driver)(**p)
        try:
            assert await client.ping() is True
            await client.set("tlsconnect", "kv-async")
            value = await client.get("tlsconnect")
            connection = await client.connection_pool.get_connection(*_command_name(client))
            try:
                ssl_object = connection._writer.get_extra_info("ssl_object")
                info = {"version": ssl_object.version(), "peer": True}
            finally:
                await client.connection_pool.release(connection)
            info["value"] = value
            info["whoami"] = await client.execute_command("ACL", "WHOAMI")
            return info
        finally:
            await client.aclose()
            await p["connection_pool"].disconnect()

    return asyncio.run(run())


def mysql_round_trip(driver: str, p: dict) -> dict:
    """The user logged in as, the database, and the session's TLS version and cipher."""
    query = (
        "SELECT CURRENT_USER(), DATABASE(), "
        "(SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
        " WHERE VARIABLE_NAME = 'Ssl_version')"
    )
    if driver == "pymysql":
        import pymysql

        connection = pymysql.connect(**p, connect_timeout=10)
        try:
            with connection.cursor() as cursor:
                cursor.execute(query)
                user, database, version = cursor.fetchone()
        finally:
            connection.close()
        return {"user": user, "database": database, "version": version}

    import aiomysql

    async def run() -> dict:
        connection = await aiomysql.connect(**p, connect_timeout=10)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(query)
                user, database, version = await cursor.fetchone()
        finally:
            connection.close()
        return {"user": user, "database": database, "version": version}

    # aiomysql's TLS upgrade leaves the plain transport under the TLS one to the cyclic GC
    # (a ResourceWarning in whichever test runs it): collected here, quietly.
    with quiet_resource_leaks():
        return asyncio.run(run())


def redis_refused(driver: str, p: dict, server, why: Why) -> None:
    """The Redis family's refusal: the connection fails with redis-py's connection error,
    and the client's error or the server's log (a client certificate refused or missing)
    says ``why``."""
    exceptions = _library(driver).exceptions
    expect_refusal(
        why,
        lambda: redis_round_trip(driver, p),
        server_log=server.log_path,
        raises=(exceptions.ConnectionError, exceptions.TimeoutError),
    )


def mysql_refused(driver: str, p: dict, server, why: Why) -> None:
    """The MySQL family's refusal: the client's error chain (aiomysql says only "Can't
    connect" and chains the TLS error) or the server's log says ``why``. aiomysql leaks
    the socket of a failed TLS handshake (a ResourceWarning when it is collected): quieted
    here, and the error is not kept beyond."""
    import pymysql

    with quiet_resource_leaks():
        expect_refusal(
            why,
            lambda: mysql_round_trip(driver, p),
            server_log=server.log_path,
            raises=(pymysql.err.OperationalError, ssl.SSLError, OSError),
        )


def mysql_fails(driver: str, p: dict) -> str:
    """The error text of a connection that must fail, with its causes (see
    :func:`mysql_refused`)."""
    import pymysql

    texts: list[str] = []
    with quiet_resource_leaks():
        with pytest.raises((pymysql.err.OperationalError, ssl.SSLError, OSError)) as info:
            mysql_round_trip(driver, p)
        error: BaseException | None = info.value
        while error is not None and len(texts) < 5:
            texts.append(str(error))
            error = error.__cause__ or error.__context__
        del info, error
    return " <- ".join(texts)


def redis_url(kv: KVServers, name: str = "good", host: str = "localhost") -> str:
    server = kv.redis(name)
    return f"rediss://{REDIS_USER}:{REDIS_PASSWORD}@{host}:{server.port}/3"


def mysql_url(kv: KVServers, name: str = "good", host: str = "localhost", **query) -> str:
    url = kv.mariadb(name).url(**query)
    return url.replace("@localhost:", f"@{host}:")


# -- Redis / Valkey ----------------------------------------------------------------------


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_redis_verify_full_with_the_console_uri(kv, pki, driver, host):
    p = tlsconnect.params(driver, redis_url(kv, host=host), ca=pki.ca_pem, **_no_retry(driver))
    assert set(p) == {"connection_pool"}
    kwargs = p["connection_pool"].connection_kwargs
    assert (kwargs["host"], kwargs["db"], kwargs["username"]) == (host, 3, REDIS_USER)
    assert kwargs["ssl_cert_reqs"] == "required" and kwargs["ssl_check_hostname"] is True
    info = redis_round_trip(driver, p)
    assert info["version"] in ("TLSv1.2", "TLSv1.3")
    assert info["whoami"] in (REDIS_USER, REDIS_USER.encode())
    assert info["value"] in (b"kv", b"kv-async")


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_wrong_host_refused_under_verify_full_accepted_under_verify_ca(kv, pki, driver):
    url = redis_url(kv, "wronghost")
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, **_no_retry(driver))
    redis_refused(driver, p, kv.redis("wronghost"), Why.HOST_NAME)
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, sslmode="verify-ca", **_no_retry(driver))
    assert p["connection_pool"].connection_kwargs["ssl_check_hostname"] is False
    assert redis_round_trip(driver, p)["version"]


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_redis_other_ca_refused_in_both_modes(kv, pki, driver, sslmode):
    url = redis_url(kv, "othersigned")
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, sslmode=sslmode, **_no_retry(driver))
    redis_refused(driver, p, kv.redis("othersigned"), Why.UNTRUSTED_ISSUER)


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_public_trust_by_default_refuses_a_project_ca_server(kv, driver):
    # Redis is a public-CA service: without a CA, certifi's roots only.
    p = tlsconnect.params(driver, redis_url(kv), **_no_retry(driver))
    redis_refused(driver, p, kv.redis(), Why.UNTRUSTED_ISSUER)


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_client_certificate_is_presented(kv, pki, driver):
    server = kv.redis("mtls")
    url = f"rediss://localhost:{server.port}"
    without = tlsconnect.params(driver, url, ca=pki.ca_pem, **_no_retry(driver))
    redis_refused(driver, without, server, Why.CLIENT_CERT_MISSING)
    p = tlsconnect.params(
        driver,
        url,
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
        **_no_retry(driver),
    )
    assert redis_round_trip(driver, p)["whoami"] in ("default", b"default")


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_client_key_as_pem_text(kv, pki, driver):
    server = kv.redis("mtls")
    p = tlsconnect.params(
        driver,
        f"rediss://localhost:{server.port}",
        ca=pki.ca_pem.read_text(),
        cert=pki.client.cert_pem.decode(),
        key=pki.client.key_pem,
        **_no_retry(driver),
    )
    assert redis_round_trip(driver, p)["version"]


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_require_without_ca_warns_and_connects(kv, driver):
    with pytest.warns(InsecureConnectionWarning):
        p = tlsconnect.params(driver, redis_url(kv, "othersigned"), sslmode="require")
    assert p["connection_pool"].connection_kwargs["ssl_cert_reqs"] == "none"
    assert redis_round_trip(driver, p)["version"]


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_uri_tls_words_never_weaken_what_the_caller_asked(kv, pki, driver):
    url = redis_url(kv, "othersigned") + "?ssl_cert_reqs=none"
    with pytest.warns(InsecureConnectionWarning):
        weak = tlsconnect.params(driver, url)  # the URI's own word, nothing asked
    assert weak["connection_pool"].connection_kwargs["ssl_cert_reqs"] == "none"
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, sslmode="verify-full", **_no_retry(driver))
    redis_refused(driver, p, kv.redis("othersigned"), Why.UNTRUSTED_ISSUER)


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_valkey_uri_and_service_option(kv, pki, driver):
    server = kv.redis("good")
    url = f"valkeys://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}"
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, **_no_retry(driver))
    assert redis_round_trip(driver, p)["version"]
    # host:port with the service named as an option (and the credentials as options)
    p = tlsconnect.params(
        driver,
        f"localhost:{server.port}",
        service="valkey",
        username=REDIS_USER,
        password=REDIS_PASSWORD,
        ca=pki.ca_pem,
        **_no_retry(driver),
    )
    assert redis_round_trip(driver, p)["whoami"] in (REDIS_USER, REDIS_USER.encode())
    with pytest.raises(ConfigError, match="redis or valkey"):
        tlsconnect.params(driver, f"localhost:{server.port}", service="kafka", ca=pki.ca_pem)


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_plaintext_url_is_refused_unless_verification_is_asked(kv, pki, driver):
    server = kv.redis("plaintext")
    with pytest.raises(ConfigError, match=r"redis:// is plaintext .* use rediss://"):
        tlsconnect.params(driver, server.url())
    # Asking for verification turns redis:// into TLS, which a plaintext server cannot do.
    p = tlsconnect.params(
        driver, server.url(), sslmode="verify-full", ca=pki.ca_pem, **_no_retry(driver)
    )
    if not driver.endswith("-asyncio"):
        redis_refused(driver, p, server, Why.NO_TLS)
    else:
        # the asyncio clients' handshake timeout says only TimeoutError: what can be shown
        # is that the connection is a TLS one, and that it failed for a timeout
        library = _library(driver)
        assert issubclass(
            p["connection_pool"].connection_class, library.asyncio.connection.SSLConnection
        )
        with pytest.raises(library.exceptions.TimeoutError):
            redis_round_trip(driver, p)


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
def test_redis_options_go_where_redis_reads_them(kv, pki, driver):
    p = tlsconnect.params(
        driver,
        redis_url(kv),
        ca=pki.ca_pem,
        decode_responses=True,
        socket_timeout=7,
        max_connections=3,
        single_connection_client=False,
        **_no_retry(driver),
    )
    kwargs = p["connection_pool"].connection_kwargs
    assert kwargs["decode_responses"] is True and kwargs["socket_timeout"] == 7
    assert p["connection_pool"].max_connections == 3
    assert p["single_connection_client"] is False
    assert redis_round_trip(driver, p)["value"] in ("kv", "kv-async")


@pytest.mark.parametrize("driver", REDIS_DRIVERS)
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"ssl_ca_certs": "/x"}, "set by tlsconnect"),
        ({"ssl_cert_reqs": "none"}, "set by tlsconnect"),
        ({"connection_pool": None}, "set by tlsconnect"),
        ({"no_such_option": 1}, "takes no option"),
    ],
)
def test_redis_refuses_options_that_would_replace_tls_or_be_ignored(
    kv, pki, driver, option, message
):
    with pytest.raises(ConfigError, match=message):
        tlsconnect.params(driver, redis_url(kv), ca=pki.ca_pem, **option)


_TRUST_PROOF = textwrap.dedent(
    """
    import importlib, json, sys, warnings
    import tlsconnect
    url, project_ca, name, client_name = sys.argv[1:5]
    library = importlib.import_module(name)
    Client = getattr(library, client_name)
    Retry = importlib.import_module(f"{name}.retry").Retry
    NoBackoff = importlib.import_module(f"{name}.backoff").NoBackoff
    out = {}
    # The library's own options: the CA given is ADDED to OpenSSL's default store.
    own = Client.from_url(url, ssl_ca_certs=project_ca, retry=Retry(NoBackoff(), 0))
    try:
        out["own_options"] = own.ping()
    except library.exceptions.ConnectionError as exc:
        out["own_options"] = str(exc)
    finally:
        own.connection_pool.disconnect()
    for trust in ("project", None):
        p = tlsconnect.params(name, url, ca=project_ca, trust=trust,
                              retry=Retry(NoBackoff(), 0))
        client = Client(**p)
        try:
            out[f"tlsconnect_{trust}"] = client.ping()
        except library.exceptions.ConnectionError as exc:
            out[f"tlsconnect_{trust}"] = str(exc)
        finally:
            p["connection_pool"].disconnect()
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize(("library", "client"), [("redis", "Redis"), ("valkey", "Valkey")])
def test_redis_trust_is_exactly_the_plans_whatever_openssl_default_paths_hold(
    kv, pki, tmp_path, library, client
):
    """A server whose certificate chains to a CA that OpenSSL's default store trusts
    (SSL_CERT_FILE names it) but the plan does not: redis-py's and valkey-py's own options
    accept it, tlsconnect's parameters refuse it."""
    server = kv.redis("othersigned")
    scheme = "valkeys" if library == "valkey" else "rediss"
    url = f"{scheme}://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}"
    empty = tmp_path / "no-certs"
    empty.mkdir()
    env = {**os.environ, "SSL_CERT_FILE": str(pki.other_ca_pem), "SSL_CERT_DIR": str(empty)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    result = subprocess.run(
        [sys.executable, "-c", _TRUST_PROOF, url, str(pki.ca_pem), library, client],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["own_options"] is True, out  # the pitfall, shown
    for trust in ("project", "None"):
        assert "certificate verify failed" in str(out[f"tlsconnect_{trust}"]).lower(), out


@pytest.mark.parametrize("driver", ["valkey", "valkey-asyncio"])
def test_valkey_checks_the_host_name_which_its_own_options_do_not(kv, pki, driver):
    """valkey-py's ssl_check_hostname defaults to False: its own options, given the CA,
    accept a certificate for another host. tlsconnect's parameters refuse it, for the
    host name (the verify code in the error), and say so in the pool's keywords."""
    import valkey

    server = kv.redis("wronghost")
    url = f"valkeys://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}"
    own = valkey.Valkey.from_url(url, ssl_ca_certs=str(pki.ca_pem), **_no_retry("valkey"))
    try:
        assert own.ping() is True  # the pitfall, shown
        assert own.connection_pool.connection_kwargs.get("ssl_check_hostname", False) is False
    finally:
        own.connection_pool.disconnect()
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, **_no_retry(driver))
    assert p["connection_pool"].connection_kwargs["ssl_check_hostname"] is True
    # the host name, not the chain
    redis_refused(driver, p, server, Why.HOST_NAME)


# -- MySQL (PyMySQL, aiomysql) -----------------------------------------------------------


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_mysql_verify_full_with_the_console_uri(kv, pki, driver, host):
    url = mysql_url(kv, host=host, **{"ssl-mode": "VERIFY_IDENTITY"})
    p = tlsconnect.params(driver, url, ca=pki.ca_pem)
    server = kv.mariadb()
    database_key = "database" if driver == "pymysql" else "db"
    assert (p["host"], p["port"], p["user"], p["password"], p[database_key]) == (
        host,
        server.port,
        server.user,
        server.password,
        server.database,
    )
    assert isinstance(p["ssl"], ssl.SSLContext) and p["ssl"].check_hostname
    assert not any(name.startswith("ssl_") for name in p)
    info = mysql_round_trip(driver, p)
    assert info["user"] == f"{server.user}@%" and info["database"] == server.database
    assert info["version"] in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_console_uri_with_ssl_mode_required_and_the_ca_verifies_the_host(kv, pki, driver):
    # The console's ssl-mode=REQUIRED with the project CA at hand is raised to
    # verify-full: the wrong-host server is refused. sslmode="require" as an argument keeps
    # libpq's rule (the chain only): the wrong-host server passes, the other CA's does not.
    url = mysql_url(kv, "wronghost", **{"ssl-mode": "REQUIRED"})
    p = tlsconnect.params(driver, url, ca=pki.ca_pem)
    assert p["ssl"].verify_mode == ssl.CERT_REQUIRED and p["ssl"].check_hostname
    message = mysql_fails(driver, p)
    assert "hostname mismatch" in message.lower() or "not valid for" in message.lower()
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, sslmode="require")
    assert p["ssl"].verify_mode == ssl.CERT_REQUIRED and not p["ssl"].check_hostname
    assert mysql_round_trip(driver, p)["version"]
    p = tlsconnect.params(
        driver,
        mysql_url(kv, "othersigned", **{"ssl-mode": "REQUIRED"}),
        ca=pki.ca_pem,
        sslmode="require",
    )
    mysql_refused(driver, p, kv.mariadb("othersigned"), Why.UNTRUSTED_ISSUER)


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_wrong_host_refused_under_verify_full_accepted_under_verify_ca(kv, pki, driver):
    url = mysql_url(kv, "wronghost")
    p = tlsconnect.params(driver, url, ca=pki.ca_pem)
    mysql_refused(driver, p, kv.mariadb("wronghost"), Why.HOST_NAME)
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, sslmode="verify-ca")
    assert mysql_round_trip(driver, p)["version"]


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_mysql_other_ca_refused_in_both_modes(kv, pki, driver, sslmode):
    p = tlsconnect.params(driver, mysql_url(kv, "othersigned"), ca=pki.ca_pem, sslmode=sslmode)
    mysql_refused(driver, p, kv.mariadb("othersigned"), Why.UNTRUSTED_ISSUER)


def test_pymysql_own_ssl_ca_option_would_have_accepted_the_other_ca(kv, pki):
    """The pitfall: PyMySQL given only ssl_ca verifies nothing."""
    import pymysql

    server = kv.mariadb("othersigned")
    connection = pymysql.connect(
        host="localhost",
        port=server.port,
        user=server.user,
        password=server.password,
        ssl_ca=str(pki.ca_pem),
        connect_timeout=10,
    )
    connection.close()  # it connected to a server the CA given never signed


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_client_certificate_is_presented(kv, pki, driver):
    server = kv.mariadb()
    url = server.url(user=server.x509_user)
    without = tlsconnect.params(driver, url, ca=pki.ca_pem)
    assert "access denied" in mysql_fails(driver, without).lower()
    p = tlsconnect.params(
        driver, url, ca=pki.ca_pem, cert=pki.client.cert_path, key=pki.client.key_path
    )
    assert mysql_round_trip(driver, p)["user"] == f"{server.x509_user}@%"


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_encrypted_key_as_bytes(kv, pki, driver):
    server = kv.mariadb()
    p = tlsconnect.params(
        driver,
        server.url(user=server.x509_user),
        ca=pki.ca_pem,
        cert=pki.client.cert_pem,
        key=pki.client_key_encrypted_path.read_bytes(),
        key_password=pki.client_key_password,
    )
    assert mysql_round_trip(driver, p)["user"] == f"{server.x509_user}@%"


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_require_without_ca_warns_and_connects(kv, driver):
    with pytest.warns(InsecureConnectionWarning):
        p = tlsconnect.params(driver, mysql_url(kv, "othersigned", **{"ssl-mode": "REQUIRED"}))
    assert p["ssl"].verify_mode == ssl.CERT_NONE
    assert mysql_round_trip(driver, p)["version"]


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_needs_the_project_ca_to_verify(kv, driver):
    with pytest.raises(ConfigError, match=r"the project CA, and none was given; pass ca="):
        tlsconnect.params(driver, mysql_url(kv))


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_uri_ssl_mode_never_weakens_what_the_caller_asked(kv, pki, driver):
    url = mysql_url(kv, "othersigned", **{"ssl-mode": "REQUIRED"})
    p = tlsconnect.params(driver, url, ca=pki.ca_pem, sslmode="verify-full")
    assert p["ssl"].check_hostname
    mysql_refused(driver, p, kv.mariadb("othersigned"), Why.UNTRUSTED_ISSUER)


def test_pymysql_refuses_a_server_without_tls(kv, pki):
    import pymysql

    server = kv.mariadb("plaintext")
    p = tlsconnect.params("pymysql", server.url(), ca=pki.ca_pem)
    with pytest.raises(pymysql.err.OperationalError, match="SSL is required"):
        mysql_round_trip("pymysql", p)


def test_aiomysql_goes_on_without_tls_when_the_server_offers_none(kv, pki):
    """A known limitation of aiomysql (said in README): it uses the context only when the
    server's greeting offers TLS. If this starts failing, aiomysql refuses now: update
    README."""
    server = kv.mariadb("plaintext")
    p = tlsconnect.params("aiomysql", server.url(), ca=pki.ca_pem)
    assert mysql_round_trip("aiomysql", p)["version"] in ("", None)


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_options_pass_through_and_tls_options_are_refused(kv, pki, driver):
    p = tlsconnect.params(
        driver,
        mysql_url(kv, charset="utf8mb4"),
        ca=pki.ca_pem,
        autocommit=True,
        database="mysql" if driver == "pymysql" else None,
    )
    assert p["charset"] == "utf8mb4" and p["autocommit"] is True
    for option in ("ssl", "ssl_ca") if driver == "pymysql" else ("ssl",):
        with pytest.raises(ConfigError, match="set by tlsconnect"):
            tlsconnect.params(driver, mysql_url(kv), ca=pki.ca_pem, **{option: None})
    with pytest.raises(ConfigError, match="nonsense"):
        tlsconnect.params(driver, mysql_url(kv, nonsense=1), ca=pki.ca_pem)


@pytest.mark.parametrize("driver", MYSQL_DRIVERS)
def test_mysql_host_port_target_with_user_options(kv, pki, driver):
    server = kv.mariadb()
    p = tlsconnect.params(
        driver,
        f"localhost:{server.port}",
        ca=pki.ca_pem,
        user=server.user,
        password=server.password,
        database=server.database,
    )
    assert mysql_round_trip(driver, p)["database"] == server.database


# -- every driver ---------------------------------------------------------------------


def test_drivers_lists_the_family():
    assert {"redis", "redis-asyncio", "valkey", "valkey-asyncio", "pymysql", "aiomysql"} <= set(
        tlsconnect.drivers()
    )


@pytest.mark.parametrize(
    ("driver", "module", "extra", "target"),
    [
        ("redis", "redis", "redis", "rediss://h:6380"),
        ("redis-asyncio", "redis", "redis", "rediss://h:6380"),
        ("valkey", "valkey", "valkey", "valkeys://h:6380"),
        ("valkey-asyncio", "valkey", "valkey", "rediss://h:6380"),
        ("pymysql", "pymysql", "mysql", "mysql://u:p@h:3306/db"),
        ("aiomysql", "aiomysql", "mysql", "mysql://u:p@h:3306/db"),
    ],
)
def test_missing_driver_names_the_extra(pki, monkeypatch, driver, module, extra, target):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(tlsconnect.MissingDependencyError) as info:
        tlsconnect.params(driver, target, ca=pki.ca_pem)
    assert f'pip install "tlsconnect[{extra}]"' in str(info.value)
