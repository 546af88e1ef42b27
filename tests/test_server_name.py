"""``server_name=``: connect to one address, verify another name (SSH tunnels, private
endpoints reached by address, port-forwards), against real servers on loopback.

Every server here presents a certificate that names ONLY ``db.internal.test``, a name
that does not resolve here: a connection to 127.0.0.1 that verifies can only have
verified ``server_name``. Each driver is also shown to refuse a wrong ``server_name``,
with the reason pinned (OpenSSL's verify code 62, or libpq's words).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import warnings

import psycopg
import pytest

import tlsconnect
from tlsconnect import ConfigError, Credentials
from tlsconnect._cli import main
from tlsconnect.testing import RedisServer, quiet_resource_leaks

NAME = "db.internal.test"
WRONG = "other.internal.test"
#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH.
HOSTNAME_MISMATCH = 62
#: X509_V_ERR_IP_ADDRESS_MISMATCH.
IP_MISMATCH = 64


def _verify_codes(exc: BaseException | None) -> list[int]:
    """The verify codes of every SSLCertVerificationError in ``exc``'s cause chain."""
    codes = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLCertVerificationError):
            codes.append(exc.verify_code)
        exc = exc.__cause__ or exc.__context__
    return codes


@pytest.fixture(scope="module")
def internal(pki):
    """A server certificate (project CA) that names only db.internal.test."""
    return pki.issue_cert("server-name-internal", dns_names=[NAME])


@pytest.fixture(scope="module")
def unresolvable():
    try:
        socket.getaddrinfo(NAME, 5432)
    except OSError:
        return
    pytest.fail(f"{NAME} resolves here; the tests need a name that does not")


@pytest.fixture(scope="module")
def pg_internal(pg, internal, unresolvable):
    server = pg.start("server-name", internal.cert_path, internal.key_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_internal(pki, internal, unresolvable):
    server = RedisServer(internal.cert_path, internal.key_path, pki.ca_pem, name="servername")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kafka_internal(kafka, internal, unresolvable):
    server = kafka.start("server-name", internal.cert_path, internal.key_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def https_internal(internal, unresolvable):
    from tlsconnect.testing import HTTPSServer

    names: list[str | None] = []

    def record_sni(context: ssl.SSLContext) -> None:
        context.sni_callback = lambda _obj, name, _ctx: names.append(name)  # type: ignore[assignment]

    server = HTTPSServer(internal.cert_path, internal.key_path, context_hook=record_sni)
    server.sni_names = names  # type: ignore[attr-defined]
    yield server
    server.stop()


def _pg_uri(server, host: str = "127.0.0.1") -> str:
    return f"postgresql://tlsuser@{host}:{server.port}/defaultdb"


# -- psycopg (libpq): host= the name, hostaddr= the address ---------------------------


def _select_ssl(params: dict) -> tuple:
    with psycopg.connect(**params, connect_timeout=10) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row is not None
    return row


def test_psycopg_connects_to_an_address_and_verifies_server_name(pg_internal, pki):
    params = tlsconnect.psycopg_params(_pg_uri(pg_internal), ca=pki.ca_pem, server_name=NAME)
    assert (params["host"], params["hostaddr"]) == (NAME, "127.0.0.1")
    assert params["sslmode"] == "verify-full"
    assert _select_ssl(params) == (True,)


def test_psycopg_without_server_name_refuses_the_same_address(pg_internal, pki):
    """The control: the certificate does not name 127.0.0.1."""
    params = tlsconnect.psycopg_params(_pg_uri(pg_internal), ca=pki.ca_pem)
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        _select_ssl(params)


def test_psycopg_refuses_a_wrong_server_name(pg_internal, pki):
    params = tlsconnect.psycopg_params(_pg_uri(pg_internal), ca=pki.ca_pem, server_name=WRONG)
    with pytest.raises(psycopg.OperationalError) as info:
        _select_ssl(params)
    assert f'server certificate for "{NAME}" does not match host name "{WRONG}"' in str(info.value)


def test_psycopg_resolves_a_host_name_to_every_address_it_has(pg_internal, pki):
    expected = []
    for *_, sockaddr in socket.getaddrinfo("localhost", pg_internal.port, type=socket.SOCK_STREAM):
        if sockaddr[0] not in expected:
            expected.append(sockaddr[0])
    params = tlsconnect.params(
        "psycopg", _pg_uri(pg_internal, "localhost"), ca=pki.ca_pem, server_name=NAME
    )
    assert params["hostaddr"] == ",".join(expected)
    assert params["host"] == ",".join([NAME] * len(expected))
    assert params["port"] == str(pg_internal.port)
    assert _select_ssl(params) == (True,)


def test_psycopg_keeps_a_hostaddr_the_target_gives(pki):
    params = tlsconnect.psycopg_params(
        "host=pg.example.com hostaddr=10.0.0.7,10.0.0.8 port=5432", ca=pki.ca_pem, server_name=NAME
    )
    assert (params["host"], params["hostaddr"]) == (f"{NAME},{NAME}", "10.0.0.7,10.0.0.8")


def test_psycopg_gets_an_internationalised_server_name_as_its_a_label(pki):
    params = tlsconnect.psycopg_params(
        "host=127.0.0.1 port=5432", ca=pki.ca_pem, server_name="bücher.example"
    )
    assert params["host"] == "xn--bcher-kva.example"


def test_psycopg_names_a_host_that_does_not_resolve(pki):
    with pytest.raises(ConfigError, match="'no-such-host.invalid' could not be resolved"):
        tlsconnect.psycopg_params(
            "host=no-such-host.invalid port=5432", ca=pki.ca_pem, server_name=NAME
        )


def test_psycopg_refuses_a_unix_socket_with_server_name(pki):
    with pytest.raises(ConfigError, match="Unix socket"):
        tlsconnect.psycopg_params("host=/var/run/postgresql", ca=pki.ca_pem, server_name=NAME)


def test_psycopg_config_refuses_a_host_name_and_writes_an_address(pki, capsys):
    base = ["config", "--driver", "psycopg", "--ca", str(pki.ca_pem), "--server-name", NAME]
    assert main([*base, "postgresql://tlsuser@localhost:5432/defaultdb"]) == 2
    err = capsys.readouterr().err
    assert "outlive the name's DNS records" in err and "localhost" in err
    assert main([*base, "postgresql://tlsuser@127.0.0.1:5432/defaultdb"]) == 0
    out = capsys.readouterr().out
    assert f"host={NAME}" in out and "hostaddr=127.0.0.1" in out


def test_libpq_env_writes_pghostaddr(pki, capsys):
    argv = ["config", "--driver", "libpq-env", "--ca", str(pki.ca_pem), "--server-name", NAME]
    assert main([*argv, "postgresql://tlsuser@127.0.0.1:5432/defaultdb"]) == 0
    out = capsys.readouterr().out
    assert f"export PGHOST={NAME}" in out and "export PGHOSTADDR=127.0.0.1" in out


def test_explain_says_what_server_name_does():
    plan = tlsconnect.resolve("postgresql", ca=None, trust="public", server_name=NAME)
    text = plan.explain()
    assert f"verifies the certificate against server_name '{NAME}'" in text
    assert "resolved, to every address it has, when the parameters are made" in text
    assert f"server_name='{NAME}'" in repr(plan)


@pytest.mark.parametrize("url", ["postgresql+psycopg", "postgresql+psycopg2"])
def test_sqlalchemy_with_libpq_verifies_server_name(pg_internal, pki, url):
    from sqlalchemy import create_engine, text

    target = f"{url}://tlsuser@127.0.0.1:{pg_internal.port}/defaultdb"
    p = tlsconnect.params("sqlalchemy", target, ca=pki.ca_pem, server_name=NAME)
    assert (p["connect_args"]["host"], p["connect_args"]["hostaddr"]) == (NAME, "127.0.0.1")
    engine = create_engine(**p)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_django_with_libpq_gets_host_and_hostaddr(pki):
    p = tlsconnect.params(
        "django", "postgresql://u@127.0.0.1:5432/db", ca=pki.ca_pem, server_name=NAME
    )
    assert (p["HOST"], p["PORT"], p["OPTIONS"]["hostaddr"]) == (NAME, "5432", "127.0.0.1")
    # the caller's HOST and PORT say where to connect, as they would without server_name
    p = tlsconnect.params(
        "django",
        "postgresql://u@127.0.0.1:5432/db",
        ca=pki.ca_pem,
        server_name=NAME,
        HOST="::1",
        PORT="6432",
    )
    assert (p["HOST"], p["PORT"], p["OPTIONS"]["hostaddr"]) == (NAME, "6432", "::1")
    with pytest.raises(ConfigError, match="mysqlclient"):
        tlsconnect.params("django", "mysql://u@127.0.0.1:3306/db", ca=pki.ca_pem, server_name=NAME)


# -- drivers that take a context: the context verifies server_name ------------------


def _asyncpg_ssl(params: dict) -> bool:
    import asyncpg

    async def run() -> bool:
        conn = await asyncpg.connect(**params, timeout=10)
        try:
            return bool(
                await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
        finally:
            await conn.close()

    return asyncio.run(run())


def test_asyncpg_verifies_server_name_through_the_context(pg_internal, pki):
    params = tlsconnect.params("asyncpg", _pg_uri(pg_internal), ca=pki.ca_pem, server_name=NAME)
    assert params["host"] == "127.0.0.1"
    assert _asyncpg_ssl(params) is True


def test_asyncpg_refuses_a_wrong_server_name(pg_internal, pki):
    params = tlsconnect.params("asyncpg", _pg_uri(pg_internal), ca=pki.ca_pem, server_name=WRONG)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _asyncpg_ssl(params)
    assert info.value.verify_code == HOSTNAME_MISMATCH
    assert repr(WRONG) in str(info.value)


def test_pg8000_verifies_server_name_through_the_context(pg_internal, pki):
    import pg8000.native

    for server_name, verifies in ((NAME, True), (WRONG, False)):
        p = tlsconnect.params(
            "pg8000", _pg_uri(pg_internal), ca=pki.ca_pem, server_name=server_name
        )
        if verifies:
            conn = pg8000.native.Connection(**p, timeout=10)
            try:
                assert conn.run("SELECT 1") == [[1]]
            finally:
                conn.close()
        else:
            with pytest.raises(Exception) as info:
                pg8000.native.Connection(**p, timeout=10)
            assert HOSTNAME_MISMATCH in _verify_codes(info.value), info.value


def test_redis_verifies_server_name(redis_internal, pki):
    import redis

    target = f"rediss://127.0.0.1:{redis_internal.port}"
    client = redis.Redis(**tlsconnect.params("redis", target, ca=pki.ca_pem, server_name=NAME))
    try:
        assert client.ping() is True
    finally:
        client.connection_pool.disconnect()


def test_redis_asyncio_verifies_server_name(redis_internal, pki):
    import redis.asyncio

    target = f"rediss://127.0.0.1:{redis_internal.port}"
    params = tlsconnect.params("redis-asyncio", target, ca=pki.ca_pem, server_name=NAME)

    async def run() -> bool:
        client = redis.asyncio.Redis(**params)
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()
            await params["connection_pool"].disconnect()

    assert asyncio.run(run()) is True


def test_redis_refuses_a_wrong_server_name_and_no_server_name(redis_internal, pki):
    import redis

    target = f"rediss://127.0.0.1:{redis_internal.port}"
    # a wrong name, and (the control) none: the address is then checked, and refused
    for server_name, code in ((WRONG, HOSTNAME_MISMATCH), (None, IP_MISMATCH)):
        params = tlsconnect.params("redis", target, ca=pki.ca_pem, server_name=server_name)
        client = redis.Redis(**params, socket_connect_timeout=5)
        try:
            with pytest.raises(redis.ConnectionError) as info:
                client.ping()
        finally:
            client.connection_pool.disconnect()
        assert code in _verify_codes(info.value), info.value


def test_httpx_verifies_server_name_and_sends_it_as_sni(https_internal, pki):
    import httpx

    target = f"https://127.0.0.1:{https_internal.port}"
    with httpx.Client(**tlsconnect.params("httpx", target, ca=pki.ca_pem, server_name=NAME)) as c:
        assert c.get("/").status_code == 200
    # The client sent the name, not the address (a server that routes by SNI, as a
    # provider's load balancer does, needs it).
    assert https_internal.sni_names[-1] == NAME


def test_httpx_async_verifies_server_name(https_internal, pki):
    import httpx

    target = f"https://127.0.0.1:{https_internal.port}"
    params = tlsconnect.params("httpx", target, ca=pki.ca_pem, server_name=NAME)

    async def run() -> int:
        async with httpx.AsyncClient(**params) as client:
            return (await client.get("/")).status_code

    assert asyncio.run(run()) == 200


def test_httpx_refuses_a_wrong_server_name(https_internal, pki):
    import httpx

    target = f"https://127.0.0.1:{https_internal.port}"
    with (
        httpx.Client(**tlsconnect.params("httpx", target, ca=pki.ca_pem, server_name=WRONG)) as c,
        pytest.raises(httpx.ConnectError) as info,
    ):
        c.get("/")
    assert HOSTNAME_MISMATCH in _verify_codes(info.value), info.value


def _kafka_admin(cfg: dict) -> list:
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(**cfg, bootstrap_timeout_ms=5000, request_timeout_ms=8000)
    try:
        return list(client.list_topics())
    finally:
        client.close()


def test_kafka_python_verifies_server_name_on_every_broker_connection(kafka_internal, pki):
    """The bootstrap address is 127.0.0.1; the broker then advertises itself as
    localhost: both connections verify db.internal.test."""
    cfg = tlsconnect.kafka_python_config(
        f"127.0.0.1:{kafka_internal.port}",
        credentials=Credentials.from_directory(pki.creds_dir),
        server_name=NAME,
    )
    with quiet_resource_leaks():
        assert isinstance(_kafka_admin(cfg), list)


def test_aiokafka_verifies_server_name_on_every_broker_connection(kafka_internal, pki):
    from aiokafka import AIOKafkaProducer

    cfg = tlsconnect.aiokafka_config(
        f"127.0.0.1:{kafka_internal.port}",
        credentials=Credentials.from_directory(pki.creds_dir),
        server_name=NAME,
    )

    async def run() -> None:
        producer = AIOKafkaProducer(**cfg, request_timeout_ms=8000)
        try:
            await producer.start()
            await producer.send_and_wait("server-name", b"through 127.0.0.1")
        finally:
            await producer.stop()

    with quiet_resource_leaks():
        asyncio.run(run())


def test_kafka_python_refuses_a_wrong_server_name(kafka_internal, pki):
    cfg = tlsconnect.kafka_python_config(
        f"127.0.0.1:{kafka_internal.port}",
        credentials=Credentials.from_directory(pki.creds_dir),
        server_name=WRONG,
    )
    with quiet_resource_leaks(), pytest.raises(Exception) as failed:
        _kafka_admin(cfg)
    assert type(failed.value).__module__.startswith("kafka"), failed.value
    del failed  # (see quiet_resource_leaks)
    # kafka-python keeps the reason to its (disabled) log; the context it was given, used
    # as kafka-python uses it (its transport's own call), says which check failed.
    with (
        socket.create_connection(("127.0.0.1", kafka_internal.port), timeout=5) as raw,
        cfg["ssl_context"].wrap_socket(
            raw, server_hostname="127.0.0.1", do_handshake_on_connect=False
        ) as tls,
        pytest.raises(ssl.SSLCertVerificationError) as info,
    ):
        tls.do_handshake()
    assert info.value.verify_code == HOSTNAME_MISMATCH


# -- the context itself ----------------------------------------------------------------


def test_the_context_verifies_server_name_whatever_name_the_caller_passes(redis_internal, pki):
    context = tlsconnect.ssl_context("redis", ca=pki.ca_pem, server_name=NAME)
    for given in ("127.0.0.1", "localhost", None):
        with (
            socket.create_connection(("127.0.0.1", redis_internal.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=given) as tls,
        ):
            assert tls.server_hostname == NAME
            assert context.check_hostname and context.verify_mode is ssl.CERT_REQUIRED


def test_a_wrong_server_name_is_explained_by_name(redis_internal, pki):
    context = tlsconnect.ssl_context("redis", ca=pki.ca_pem, server_name=WRONG)
    with (
        socket.create_connection(("127.0.0.1", redis_internal.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError) as info,
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert info.value.verify_code == HOSTNAME_MISMATCH
    message = str(info.value)
    assert f"not valid for server_name '{WRONG}': it names DNS:{NAME}" in message, message
    assert f"pass a server_name (--server-name) the certificate holds ({NAME})" in message


def test_server_name_keeps_the_floor_and_shared_contexts_differ_by_it(pki):
    context = tlsconnect.ssl_context("redis", ca=pki.ca_pem, server_name=NAME)
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.hostname_checks_common_name is False
    shared = tlsconnect.ssl_context("redis", ca=pki.ca_pem, server_name=NAME, shared=True)
    other = tlsconnect.ssl_context("redis", ca=pki.ca_pem, server_name=WRONG, shared=True)
    plain = tlsconnect.ssl_context("redis", ca=pki.ca_pem, shared=True)
    assert shared.server_name == NAME and other.server_name == WRONG
    assert plain.server_name is None
    with pytest.raises(AttributeError):
        shared.server_name = None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "empty"),
        ("db.internal.test:5432", "has a port"),
        ("https://db.internal.test", "not a host name"),
        ("*.internal.test", "wildcard"),
        ("db..internal.test", "not a valid host name"),
        (5432, "must be a host name (str), not int"),
    ],
)
def test_a_bad_server_name_is_a_config_error(value, words):
    with pytest.raises(ConfigError, match="server_name") as info:
        tlsconnect.resolve("redis", server_name=value)
    assert words in str(info.value)


def test_a_fully_qualified_server_name_loses_its_trailing_dot():
    assert tlsconnect.resolve("redis", server_name=f"{NAME}.").server_name == NAME


def test_an_ip_address_is_a_server_name():
    assert tlsconnect.resolve("redis", server_name="[::1]").server_name == "::1"
    assert tlsconnect.resolve("redis", server_name="10.0.0.7").server_name == "10.0.0.7"


# -- check ---------------------------------------------------------------------------


def test_check_verifies_server_name(pg_internal, pki):
    report = tlsconnect.check(_pg_uri(pg_internal), ca=pki.ca_pem, server_name=NAME)
    assert report.ok, report.render()
    assert report.hostname_verified is True
    assert any(f"server_name '{NAME}'" in note for note in report.notes)


def test_check_verifies_server_name_over_redis_kafka_and_https(
    redis_internal, kafka_internal, https_internal, pki
):
    creds = Credentials.from_directory(pki.creds_dir)
    for target in (
        f"rediss://127.0.0.1:{redis_internal.port}",
        f"kafka://127.0.0.1:{kafka_internal.port}",
        f"https://127.0.0.1:{https_internal.port}",
    ):
        service = "opensearch" if target.startswith("https") else None
        ok = tlsconnect.check(target, service=service, credentials=creds, server_name=NAME)
        assert ok.ok and ok.hostname_verified, ok.render()
        wrong = tlsconnect.check(target, service=service, credentials=creds, server_name=WRONG)
        assert wrong.error_class == "hostname_mismatch", wrong.render()
        assert f"server_name '{WRONG}'" in (wrong.error or "")


def test_check_names_server_name_in_a_host_name_failure(pg_internal, pki):
    report = tlsconnect.check(_pg_uri(pg_internal), ca=pki.ca_pem, server_name=WRONG)
    assert not report.ok
    assert report.error_class == "hostname_mismatch"
    assert f"not valid for server_name '{WRONG}'" in (report.error or "")
    assert f"DNS:{NAME}" in (report.error or "")
    assert "--server-name" in (report.fix or "") and NAME in (report.fix or "")
    assert report.chain_verified is True


def test_check_command_line_takes_server_name(pg_internal, pki, capsys):
    argv = ["check", _pg_uri(pg_internal), "--ca", str(pki.ca_pem), "--json"]
    assert main([*argv, "--server-name", NAME]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["host"], report["server_name"]) == (True, "127.0.0.1", NAME)
    assert main(argv) == 1  # the control: 127.0.0.1 is not in the certificate
    assert json.loads(capsys.readouterr().out)["server_name"] is None


def test_check_project_refuses_server_name(capsys):
    assert main(["check", "--project", "p", "--server-name", NAME]) == 2
    assert "--server-name" in capsys.readouterr().err


# -- drivers that take files: their own option, or a clear refusal -----------------


def test_clickhouse_connect_gets_its_own_server_host_name(pki):
    p = tlsconnect.params("clickhouse", "https://127.0.0.1:8443", ca=pki.ca_pem, server_name=NAME)
    assert p["server_host_name"] == NAME and p["host"] == "127.0.0.1"
    with warnings.catch_warnings():
        p = tlsconnect.params(
            "clickhouse",
            "https://127.0.0.1:8443",
            ca=pki.ca_pem,
            sslmode="verify-ca",
            server_name=NAME,
        )
    assert p["pool_mgr"].connection_pool_kw["server_hostname"] == NAME


def test_cassandra_sends_server_name_through_its_own_option(pki):
    p = tlsconnect.params("cassandra", "127.0.0.1:9042", ca=pki.ca_pem, server_name=NAME)
    assert p["ssl_options"] == {"server_hostname": NAME}
    assert p["contact_points"] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("driver", "target", "words"),
    [
        ("confluent-kafka", "127.0.0.1:9092", "librdkafka"),
        ("mysql-connector", "mysql://u:p@127.0.0.1:3306/db", "takes none"),
        ("requests", "https://127.0.0.1:443", "requests takes no SSLContext"),
    ],
)
def test_drivers_without_a_way_to_verify_another_name_refuse_it(driver, target, words, pki):
    cert = {}
    if driver == "confluent-kafka":
        cert = {"cert": pki.client.cert_path, "key": pki.client.key_path}
    with pytest.raises(ConfigError, match=f"server_name='{NAME}' cannot be applied") as info:
        tlsconnect.params(driver, target, ca=pki.ca_pem, server_name=NAME, **cert)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("driver", "target"),
    [
        ("kafka-python", "kafka://127.0.0.1:9092"),
        ("aiokafka", "kafka://127.0.0.1:9092"),
        ("java-properties", "kafka://127.0.0.1:9092"),
        ("asyncpg", "postgresql://u@127.0.0.1:5432/db"),
        ("redis", "rediss://127.0.0.1:6379"),
        ("httpx", "https://127.0.0.1:443"),
        ("pymysql", "mysql://u@127.0.0.1:3306/db"),
    ],
)
def test_written_out_configurations_that_cannot_carry_server_name_refuse_it(
    driver, target, pki, tmp_path, capsys
):
    argv = ["config", "--driver", driver, target, "--credentials-dir", str(pki.creds_dir)]
    argv += ["--server-name", NAME, "--output-dir", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    # the command line names its flag
    assert f"--server-name {NAME} cannot be applied" in err, err


# -- no driver ignores it --------------------------------------------------------------

#: A target for each driver. A driver added to tlsconnect needs one here: the test below
#: then holds it to honouring server_name, or refusing it.
TARGETS = {
    "aiokafka": "kafka://127.0.0.1:9092",
    "aiomysql": "mysql://u@127.0.0.1:3306/db",
    "asyncpg": "postgresql://u@127.0.0.1:5432/db",
    "cassandra": "127.0.0.1:9042",
    "clickhouse": "https://127.0.0.1:8443",
    "confluent-kafka": "kafka://127.0.0.1:9092",
    "django": "postgresql://u@127.0.0.1:5432/db",
    "httpx": "https://127.0.0.1:443",
    "kafka-python": "kafka://127.0.0.1:9092",
    "mysql-connector": "mysql://u@127.0.0.1:3306/db",
    "opensearch": "https://127.0.0.1:9200",
    "pg8000": "postgresql://u@127.0.0.1:5432/db",
    "psycopg": "postgresql://u@127.0.0.1:5432/db",
    "psycopg2": "postgresql://u@127.0.0.1:5432/db",
    "pymysql": "mysql://u@127.0.0.1:3306/db",
    "redis": "rediss://127.0.0.1:6379",
    "redis-asyncio": "rediss://127.0.0.1:6379",
    "requests": "https://127.0.0.1:443",
    "sqlalchemy": "postgresql+asyncpg://u@127.0.0.1:5432/db",
}


def _carries(value: object, depth: int = 0) -> bool:
    """Whether ``value`` (a driver's parameters) verifies NAME: a context that does, or
    NAME itself where the driver reads the name to verify (libpq's host, an option)."""
    if depth > 4:
        return False
    if isinstance(value, ssl.SSLContext):
        return getattr(value, "server_name", None) == NAME
    if isinstance(value, str):
        return value == NAME or value.split(",") == [NAME] * len(value.split(","))
    if isinstance(value, dict):
        return any(_carries(item, depth + 1) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_carries(item, depth + 1) for item in value)
    if isinstance(value, type) or hasattr(value, "__dict__"):
        # a pool and its connection class (redis-py), a urllib3 pool manager
        return any(_carries(item, depth + 1) for item in vars(value).values())
    return False


@pytest.mark.parametrize("durable", [False, True], ids=["params", "written-out"])
@pytest.mark.parametrize("driver", tlsconnect.drivers())
def test_no_driver_ignores_server_name(driver, durable, pki, tmp_path):
    from tlsconnect._plan import Options
    from tlsconnect.adapters import build_params

    assert driver in TARGETS, f"{driver}: add a target to TARGETS (see its comment)"
    options = Options(credentials=Credentials.from_directory(pki.creds_dir), server_name=NAME)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mysql-connector's own trust warning
            result = build_params(
                driver, TARGETS[driver], options, {}, durable=durable, output_dir=tmp_path
            )
    except ConfigError as exc:
        assert f"server_name={NAME!r} cannot be applied to" in str(exc), exc
        return
    try:
        assert _carries(result), result
    finally:
        pool = result.get("connection_pool")
        if pool is not None and hasattr(pool, "disconnect") and driver == "redis":
            pool.disconnect()


def test_psycopg2_connects_to_an_address_and_verifies_server_name(pg_internal, pki):
    import psycopg2

    for server_name, verifies in ((NAME, True), (WRONG, False)):
        p = tlsconnect.params(
            "psycopg2", _pg_uri(pg_internal), ca=pki.ca_pem, server_name=server_name
        )
        if verifies:
            conn = psycopg2.connect(**p, connect_timeout=10)
            try:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    assert cursor.fetchone() == (1,)
            finally:
                conn.close()
        else:
            with pytest.raises(psycopg2.OperationalError, match="does not match host name"):
                psycopg2.connect(**p, connect_timeout=10)
