"""tlsconnect's floor on every context it builds, writes out as a recipe, or hands a driver
a way to build: TLS 1.2 at least, no compression, no common-name fallback, no partial
chains, ``VERIFY_X509_STRICT`` off as in libpq; the same on every Python from 3.10 to 3.13
(3.13's ``create_default_context``, and urllib3 on 3.13, set both verify flags).

Run this module on the newest Python too: ``python3.13 -m pytest tests/test_floor.py``.
"""

from __future__ import annotations

import json
import socket
import ssl
import warnings
from collections.abc import Iterator

import pytest

import tlsconnect
from adversarial_pki import AdversarialPKI, make_adversarial_pki
from http_standins import clickhouse, opensearch
from tlsconnect import InsecureConnectionWarning, TLSDowngradeWarning
from tlsconnect._configgen import generate_config
from tlsconnect._context import apply_floor
from tlsconnect.adapters._recipe import CONTEXT_LINES, CONTEXT_ONE_LINE, FLOOR_LINES
from tlsconnect.adapters.aiokafka import USAGE as AIOKAFKA_USAGE
from tlsconnect.testing import HTTPSServer

FLAGS_OFF = ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT

#: Every driver handed a context (or a pool holding one), with a target of its kind.
CONTEXT_DRIVERS = {
    "asyncpg": "postgres://u@db.example.test:5432/d",
    "sqlalchemy": "postgresql+asyncpg://u@db.example.test:5432/d",
    "pymysql": "mysql://u:p@db.example.test:3306/d",
    "aiomysql": "mysql://u:p@db.example.test:3306/d",
    "redis": "rediss://u:p@db.example.test:6379",
    "redis-asyncio": "rediss://u:p@db.example.test:6379",
    "httpx": "https://db.example.test:443",
    "opensearch": "https://db.example.test:443",
    "clickhouse": "https://db.example.test:8443",
    "cassandra": "cassandra://u:p@db.example.test:9042",
    "kafka-python": "db.example.test:9092",
    "aiokafka": "db.example.test:9092",
}


def assert_floor(context: ssl.SSLContext) -> None:
    assert context.minimum_version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
    assert context.options & ssl.OP_NO_COMPRESSION
    assert context.hostname_checks_common_name is False
    assert context.verify_flags & FLAGS_OFF == 0, repr(context.verify_flags)


def contexts_in(value: object) -> Iterator[ssl.SSLContext]:
    """Every context a driver's parameters hold: directly, in a urllib3 pool manager's
    keywords, or in a redis-py pool's connection class."""
    if isinstance(value, ssl.SSLContext):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from contexts_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from contexts_in(item)
    elif hasattr(value, "connection_pool_kw"):  # urllib3's PoolManager
        yield from contexts_in(value.connection_pool_kw)
    elif hasattr(getattr(value, "connection_class", None), "tls_context"):  # redis-py's pool
        yield value.connection_class.tls_context


@pytest.fixture(scope="module")
def adv(pki, tmp_path_factory) -> AdversarialPKI:
    return make_adversarial_pki(tmp_path_factory.mktemp("adversarial-floor"), pki.ca)


def driver_params(driver: str, target: str, **options) -> dict:
    if "kafka" in driver:
        options.setdefault("sasl_username", "u")
        options.setdefault("sasl_password", "p")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TLSDowngradeWarning)
        warnings.simplefilter("ignore", InsecureConnectionWarning)
        return tlsconnect.params(driver, target, **options)


# -- the floor itself, in code and as text -----------------------------------------------


def test_the_recipe_lines_are_the_floor_of_apply_floor():
    by_code = ssl.create_default_context()  # 3.13 sets both flags here
    apply_floor(by_code)
    by_text = ssl.create_default_context()
    exec("\n".join(FLOOR_LINES), {"ssl": ssl, "context": by_text})
    for context in (by_code, by_text):
        assert_floor(context)
    for name in ("minimum_version", "options", "hostname_checks_common_name", "verify_flags"):
        assert getattr(by_code, name) == getattr(by_text, name), name


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca", "require"])
def test_ssl_context_carries_the_floor(pki, sslmode):
    for shared in (False, True):
        assert_floor(
            tlsconnect.ssl_context("postgresql", sslmode=sslmode, ca=pki.ca_pem, shared=shared)
        )
    assert_floor(tlsconnect.ssl_context("opensearch"))


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
@pytest.mark.parametrize("driver", CONTEXT_DRIVERS)
def test_every_context_handed_to_a_driver_carries_the_floor(pki, driver, sslmode):
    contexts = list(
        contexts_in(driver_params(driver, CONTEXT_DRIVERS[driver], ca=pki.ca_pem, sslmode=sslmode))
    )
    assert contexts, f"{driver} was handed no context to check"
    for context in contexts:
        assert_floor(context)


@pytest.mark.parametrize("driver", CONTEXT_DRIVERS)
def test_every_drivers_context_refuses_a_certificate_naming_its_host_only_in_the_cn(
    adv, tls_server, driver
):
    """A real handshake with each driver's own context: the CN is never a host name."""
    leaf = adv.leaves["cn-only"]
    server = tls_server((leaf.chain_path, leaf.key_path))
    params = driver_params(driver, CONTEXT_DRIVERS[driver], ca=adv.bundles["root"])
    for context in contexts_in(params):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with pytest.raises(ssl.SSLCertVerificationError) as caught:
                context.wrap_socket(raw, server_hostname="db.example.test")
        assert caught.value.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH


@pytest.mark.parametrize("driver", CONTEXT_DRIVERS)
def test_every_drivers_context_refuses_an_intermediate_alone_as_the_anchor(adv, tls_server, driver):
    leaf = adv.leaves["good"]
    server = tls_server((leaf.chain_path, leaf.key_path))
    params = driver_params(driver, CONTEXT_DRIVERS[driver], ca=adv.bundles["int-only"])
    for context in contexts_in(params):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with pytest.raises(ssl.SSLCertVerificationError) as caught:
                context.wrap_socket(raw, server_hostname="db.example.test")
        assert caught.value.verify_code == 2  # unable to get issuer certificate


# -- written out: the recipes --------------------------------------------------------------


def recipe_block(pki, sslmode: str = "verify-full") -> dict:
    written = json.loads(
        generate_config(
            "asyncpg", "postgres://u@h:5432/d", ca=str(pki.ca_pem), sslmode=sslmode
        ).text
    )
    return written["tls"]


def test_the_context_recipe_carries_the_floor(pki):
    for code in ("\n".join(CONTEXT_LINES), CONTEXT_ONE_LINE):
        namespace: dict = {"tls": recipe_block(pki)}
        exec(code, namespace)
        assert_floor(namespace["context"])
        assert namespace["context"].check_hostname is True


def test_aiokafka_recipe_carries_the_floor(pki):
    """aiokafka's written-out context is built by the recipe's lines, with the floor
    (not by create_ssl_context, which is create_default_context: the CN fallback on every
    Python, partial chains and X509_STRICT on 3.13)."""
    import aiokafka.helpers

    cfg = json.loads(
        generate_config(
            "aiokafka",
            "h:9092",
            ca=str(pki.ca_pem),
            cert=str(pki.client.cert_path),
            key=str(pki.client.key_path),
        ).text
    )
    made: dict = {}
    namespace = {"aiokafka": aiokafka, "cfg": cfg, "AIOKafkaProducer": lambda **kw: made.update(kw)}
    exec(AIOKAFKA_USAGE.removeprefix("use: "), namespace)
    assert_floor(made["ssl_context"])
    assert made["ssl_context"].check_hostname is True


# -- the contexts urllib3 used to build: clickhouse-connect and opensearch-py ------------


@pytest.fixture(scope="module")
def adv_https(adv) -> Iterator[dict[str, HTTPSServer]]:
    """OpenSearch and ClickHouse stand-ins sending a leaf and its intermediate
    (``good``), and a certificate for another host (``wronghost``)."""
    servers = {
        name: opensearch(
            clickhouse(HTTPSServer(adv.leaves[leaf].chain_path, adv.leaves[leaf].key_path))
        )
        for name, leaf in (("good", "good"), ("cn-only", "cn-only"))
    }
    yield servers
    for server in servers.values():
        server.stop()


def via(driver: str, params: dict) -> object:
    if driver == "opensearch":
        from opensearchpy import OpenSearch

        client = OpenSearch(**params, timeout=10, max_retries=0)
        try:
            return client.info()["version"]["distribution"]
        finally:
            client.close()
    import clickhouse_connect

    client = clickhouse_connect.get_client(**params, connect_timeout=10, query_retries=0)
    try:
        return client.command("SELECT 1")
    finally:
        client.close()


def verification_refused(exc: BaseException) -> list[str]:
    seen, stack = [], [exc]
    while stack:
        error = stack.pop()
        if error is None or any(error is s for s in seen):
            continue
        seen.append(error)
        stack += [error.__cause__, error.__context__, getattr(error, "reason", None)]
        stack += [arg for arg in getattr(error, "args", ()) if isinstance(arg, BaseException)]
        stack = [e for e in stack if e is None or isinstance(e, BaseException)]
    return [str(e) for e in seen]


@pytest.mark.parametrize("driver", ["opensearch", "clickhouse"])
def test_verify_ca_through_urllib3_keeps_the_floor_and_skips_only_the_host(adv, adv_https, driver):
    port = adv_https["good"].port
    uri = f"https://avnadmin:pw@localhost:{port}"
    params = driver_params(driver, uri, ca=adv.bundles["root"], sslmode="verify-ca")
    assert via(driver, params)
    contexts = list(contexts_in(params))
    assert contexts and all(c.check_hostname is False for c in contexts)
    for context in contexts:
        assert_floor(context)
    # a certificate naming no host (CN only) passes verify-ca: only the host is skipped
    cn_only = f"https://avnadmin:pw@localhost:{adv_https['cn-only'].port}"
    assert via(driver, driver_params(driver, cn_only, ca=adv.bundles["root"], sslmode="verify-ca"))
    # an intermediate alone is no anchor, on every Python
    partial = driver_params(driver, uri, ca=adv.bundles["int-only"], sslmode="verify-ca")
    with pytest.raises(Exception) as caught:
        via(driver, partial)
    texts = " | ".join(verification_refused(caught.value)).lower()
    assert "unable to get issuer certificate" in texts or "certificate verify failed" in texts
