"""httpx, requests, urllib3, aiohttp, opensearch-py, clickhouse-connect and confluent-kafka's
schema registry client, each against the same real HTTPS servers on loopback
(tlsconnect.testing's HTTPSServer answering as OpenSearch, ClickHouse and Karapace do: see
http_standins): verify-full and verify-ca must mean the same thing in every driver's
output, and the trust must be exactly the plan's.
"""

from __future__ import annotations

import asyncio
import base64
import pathlib
import ssl
import sys
import warnings
from collections.abc import Callable, Iterator

import pytest

import tlsconnect
from http_standins import SUBJECTS, basic_user, clickhouse, opensearch, schema_registry
from refusals import Why, assert_refused
from tlsconnect import ConfigError, Credentials, InsecureConnectionWarning
from tlsconnect.testing import HTTPSServer

# -- one small round trip per driver; each returns the user the server saw -------------


def via_httpx(p: dict, server: HTTPSServer) -> str | None:
    import httpx

    with httpx.Client(**p, timeout=10) as client:
        response = client.get("/")
        response.raise_for_status()
        return response.json()["user"]


def via_httpx_async(p: dict, server: HTTPSServer) -> str | None:
    import httpx

    async def run() -> str | None:
        async with httpx.AsyncClient(**p, timeout=10) as client:
            response = await client.get("/")
            response.raise_for_status()
            return response.json()["user"]

    return asyncio.run(run())


def via_requests(p: dict, server: HTTPSServer) -> str | None:
    import requests

    response = requests.get(server.url("/"), **p, timeout=10)
    response.raise_for_status()
    return response.json()["user"]


def via_opensearch(p: dict, server: HTTPSServer) -> str | None:
    from opensearchpy import OpenSearch

    client = OpenSearch(**p, timeout=10, max_retries=0)
    try:
        info = client.info()
        assert info["version"]["distribution"] == "opensearch"
        return info["user"]
    finally:
        client.close()


def via_clickhouse(p: dict, server: HTTPSServer) -> str | None:
    import clickhouse_connect

    client = clickhouse_connect.get_client(**p, connect_timeout=10, query_retries=0)
    try:
        return client.command("SELECT currentUser()")
    finally:
        client.close()


def via_urllib3(p: dict, server: HTTPSServer) -> str | None:
    import urllib3

    with urllib3.PoolManager(**p) as http:
        response = http.request("GET", server.url("/"), timeout=10, retries=False)
        assert response.status == 200, response.data
        return response.json()["user"]


def via_schema_registry(p: dict, server: HTTPSServer) -> str | None:
    """The subjects, then the user the server saw (the registry answers no user)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    with SchemaRegistryClient({**p, "max.retries": 0}) as client:
        assert client.get_subjects() == SUBJECTS
    return basic_user(server.requests[-1])


def via_schema_registry_async(p: dict, server: HTTPSServer) -> str | None:
    from confluent_kafka.schema_registry import AsyncSchemaRegistryClient

    async def run() -> list:
        client = AsyncSchemaRegistryClient({**p, "max.retries": 0})
        try:
            return await client.get_subjects()
        finally:
            await client.aclose()

    assert asyncio.run(run()) == SUBJECTS
    return basic_user(server.requests[-1])


CLIENTS: dict[str, tuple[str, Callable[[dict, HTTPSServer], str | None]]] = {
    "httpx": ("httpx", via_httpx),
    "httpx-async": ("httpx", via_httpx_async),
    "requests": ("requests", via_requests),
    "urllib3": ("urllib3", via_urllib3),
    "opensearch": ("opensearch", via_opensearch),
    "clickhouse": ("clickhouse", via_clickhouse),
    "schema-registry": ("schema-registry", via_schema_registry),
    "schema-registry-async": ("schema-registry", via_schema_registry_async),
}
#: requests and the schema registry client check the host name whenever they verify.
CAN_SKIP_HOSTNAME = [name for name in CLIENTS if name != "requests" and "schema" not in name]


def standin(server: HTTPSServer) -> HTTPSServer:
    """OpenSearch on GET /, the schema registry on GET /subjects, ClickHouse on every other
    request."""
    return schema_registry(opensearch(clickhouse(server)))


def target(server: HTTPSServer, userinfo: str = "avnadmin") -> str:
    return f"https://{userinfo}@localhost:{server.port}" if userinfo else server.url("")


def refused(why: Why, exc: BaseException) -> None:
    """The HTTP family's refusal: the client's ``ssl`` error, in its exception's chain,
    says ``why`` (each driver wraps it differently: see refusals.chain)."""
    assert_refused(why, exc=exc, need_ssl_error=True)


@pytest.fixture
def https(tlsconnect_https_server: HTTPSServer) -> HTTPSServer:
    return standin(tlsconnect_https_server)


@pytest.fixture(scope="module")
def broken(pki) -> Iterator[dict[str, HTTPSServer]]:
    """HTTPS stand-ins with a certificate for another host, from another CA, and one that
    requires a client certificate from the project CA."""
    servers = {
        "wronghost": HTTPSServer(*pki.wronghost.pair),
        "othersigned": HTTPSServer(*pki.othersigned.pair),
        "mtls": HTTPSServer(*pki.server.pair, client_ca=pki.ca_pem, require_client_cert=True),
    }
    for server in servers.values():
        standin(server)
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def creds(pki) -> Credentials:
    return Credentials.from_directory(pki.creds_dir)


# -- verify-full, verify-ca, another CA, the client certificate -----------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_verify_full_connects_and_presents_the_client_certificate(client, https, creds):
    driver, connect = CLIENTS[client]
    p = tlsconnect.params(driver, target(https), credentials=creds)
    assert connect(p, https) == "avnadmin"
    assert https.requests and all(r.peer_cert for r in https.requests)
    subject = dict(pair[0] for pair in https.requests[-1].peer_cert["subject"])
    assert subject["commonName"] == "avnadmin"


@pytest.mark.parametrize("client", CLIENTS)
def test_verify_full_refuses_a_certificate_for_another_host(client, broken, pki):
    driver, connect = CLIENTS[client]
    server = broken["wronghost"]
    p = tlsconnect.params(driver, target(server), ca=pki.ca_pem)
    with pytest.raises(Exception) as info:
        connect(p, server)
    refused(Why.HOST_NAME, info.value)


@pytest.mark.parametrize("client", CAN_SKIP_HOSTNAME)
def test_verify_ca_accepts_a_certificate_for_another_host(client, broken, creds):
    driver, connect = CLIENTS[client]
    server = broken["wronghost"]
    p = tlsconnect.params(driver, target(server), sslmode="verify-ca", credentials=creds)
    assert connect(p, server) == "avnadmin"


@pytest.mark.parametrize(
    ("client", "sslmode"),
    [(name, "verify-full") for name in CLIENTS]
    + [(name, "verify-ca") for name in CAN_SKIP_HOSTNAME],
)
def test_a_server_from_another_ca_is_refused(client, sslmode, broken, pki):
    driver, connect = CLIENTS[client]
    server = broken["othersigned"]
    p = tlsconnect.params(driver, target(server), sslmode=sslmode, ca=pki.ca_pem)
    with pytest.raises(Exception) as info:
        connect(p, server)
    refused(Why.UNTRUSTED_ISSUER, info.value)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_server_requiring_a_client_certificate_gets_it(client, broken, creds, pki):
    driver, connect = CLIENTS[client]
    server = broken["mtls"]
    server.requests.clear()
    assert connect(tlsconnect.params(driver, target(server), credentials=creds), server)
    assert server.requests[-1].peer_serial == pki.client.cert.serial_number


@pytest.mark.parametrize(
    "client",
    ["httpx", "httpx-async", "urllib3", "opensearch", "clickhouse", "schema-registry"],
)
def test_an_encrypted_key_is_used_in_memory_or_with_its_password(client, https, pki):
    driver, connect = CLIENTS[client]
    p = tlsconnect.params(
        driver,
        target(https),
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client_key_encrypted_path,
        key_password=pki.client_key_password,
    )
    assert connect(p, https) == "avnadmin"
    assert https.requests[-1].peer_serial == pki.client.cert.serial_number


# -- the console URI, and what the URI carries ----------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_the_console_uri_carries_user_and_password(client, https, pki):
    driver, connect = CLIENTS[client]
    uri = target(https, "avnadmin:s3cr%40t")
    assert connect(tlsconnect.params(driver, uri, ca=pki.ca_pem), https) == "avnadmin"
    expected = "Basic " + base64.b64encode(b"avnadmin:s3cr@t").decode()
    assert https.requests[-1].headers["authorization"] == expected


@pytest.mark.parametrize("client", CLIENTS)
def test_a_tls_word_in_the_uri_never_weakens_what_the_caller_asked(client, broken, pki):
    driver, connect = CLIENTS[client]
    server = broken["wronghost"]
    uri = target(server) + "/?verify=false"
    p = tlsconnect.params(driver, uri, sslmode="verify-full", ca=pki.ca_pem)
    with pytest.raises(Exception) as info:
        connect(p, server)
    refused(Why.HOST_NAME, info.value)


# -- require, trust, the environment ---------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_require_without_a_ca_warns_and_connects(client, broken):
    driver, connect = CLIENTS[client]
    server = broken["othersigned"]
    with pytest.warns(InsecureConnectionWarning, match="NOT verified"):
        p = tlsconnect.params(driver, target(server), sslmode="require")
    with warnings.catch_warnings():
        # urllib3's own InsecureRequestWarning, per request, from the urllib3-based drivers
        # (and opensearch-py's for verify_certs=False): the user asked for this.
        warnings.simplefilter("ignore")
        assert connect(p, server) == "avnadmin"


@pytest.mark.parametrize("client", CLIENTS)
def test_the_environment_and_the_os_store_never_widen_the_trust(client, https, pki, monkeypatch):
    """OpenSSL's SSL_CERT_FILE (the OS store), REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE all
    point at the project CA; a plan that trusts only the public CAs must still refuse the
    project-CA server."""
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, str(pki.ca_pem))
    driver, connect = CLIENTS[client]
    p = tlsconnect.params(driver, target(https), trust="public")
    with pytest.raises(Exception) as info:
        connect(p, https)
    refused(Why.UNTRUSTED_ISSUER, info.value)


def test_without_tlsconnect_those_drivers_would_trust_the_environment(https, pki, monkeypatch):
    """The control for the test above: left to themselves, requests, httpx and
    clickhouse-connect take the environment's (or the OS store's) CA and connect."""
    import clickhouse_connect
    import httpx
    import requests

    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca_pem))
    assert requests.get(https.url("/"), timeout=10).ok
    assert httpx.get(https.url("/"), timeout=10).is_success
    client = clickhouse_connect.get_client(
        host="localhost", port=https.port, interface="https", connect_timeout=10
    )
    assert client.command("SELECT 1") == 1
    client.close()


# -- requests ------------------------------------------------------------------------


def test_requests_refuses_verify_ca_and_says_why(pki):
    with pytest.raises(ConfigError, match="requests cannot do that.*httpx"):
        tlsconnect.params("requests", "https://localhost:1", sslmode="verify-ca", ca=pki.ca_pem)
    with pytest.raises(ConfigError, match="require' with a CA verifies the chain"):
        tlsconnect.params("requests", "https://localhost:1", sslmode="require", ca=pki.ca_pem)


def test_requests_refuses_an_encrypted_key_with_the_fix(pki):
    with pytest.raises(ConfigError, match="no option for its password.*openssl pkey"):
        tlsconnect.params(
            "requests",
            "https://localhost:1",
            cert=pki.client.cert_path,
            key=pki.client_key_encrypted_path,
            key_password=pki.client_key_password,
        )


def test_requests_gets_private_copies_of_the_checked_pair(pki):
    p = tlsconnect.params(
        "requests", "https://localhost:1", cert=pki.client.cert_path, key=pki.client.key_path
    )
    cert, key = p["cert"]
    assert cert != str(pki.client.cert_path) and key != str(pki.client.key_path)
    import os
    import stat

    for path in (cert, key):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_a_requests_session_keeps_the_plan_when_the_environment_names_another_ca(
    https, pki, monkeypatch
):
    """A Session.verify set once loses to REQUESTS_CA_BUNDLE (requests #3829); the
    parameters passed with each request do not."""
    import requests

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.other_ca_pem))
    p = tlsconnect.params("requests", target(https), ca=pki.ca_pem)
    with requests.Session() as session:
        assert session.get(https.url("/"), **p, timeout=10).ok
        session.verify = p["verify"]
        with pytest.raises(requests.exceptions.SSLError):
            session.get(https.url("/"), timeout=10)


def test_requests_carries_the_uri_query_as_params(https, pki):
    import requests

    p = tlsconnect.params("requests", target(https) + "/?pretty=true", ca=pki.ca_pem)
    assert p["params"] == {"pretty": "true"}
    assert requests.get(https.url("/"), **p, timeout=10).ok
    assert https.requests[-1].query == {"pretty": ["true"]}


# -- httpx ---------------------------------------------------------------------------


def test_httpx_gets_a_context_and_no_deprecated_form(pki):
    p = tlsconnect.params("httpx", "https://localhost:9200/base/", ca=pki.ca_pem)
    assert isinstance(p["verify"], ssl.SSLContext) and "cert" not in p
    assert p["base_url"] == "https://localhost:9200/base"


def test_httpx_refuses_a_transport_that_would_ignore_verify(pki):
    import httpx

    with pytest.raises(ConfigError, match="HTTPTransport"):
        tlsconnect.params(
            "httpx", "https://localhost:1", ca=pki.ca_pem, transport=httpx.HTTPTransport()
        )


def test_httpx_passes_other_options_through_and_refuses_tls_ones(pki):
    p = tlsconnect.params("httpx", "https://localhost:1", ca=pki.ca_pem, http2=False)
    assert p["http2"] is False
    with pytest.raises(ConfigError, match="verify is set by tlsconnect"):
        tlsconnect.params("httpx", "https://localhost:1", ca=pki.ca_pem, verify=False)


def test_an_http_client_may_name_its_service(pki):
    p = tlsconnect.params("httpx", "https://localhost:1", service="grafana")
    assert p["verify"].verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ConfigError, match="unknown service"):
        tlsconnect.params("httpx", "https://localhost:1", service="nosuch")


def test_a_plaintext_http_uri_is_refused_unless_the_caller_asks_for_tls(pki):
    with pytest.raises(ConfigError, match=r"http:// is plaintext .* use https://localhost:1 "):
        tlsconnect.params("httpx", "http://localhost:1", ca=pki.ca_pem)
    p = tlsconnect.params("httpx", "http://localhost:1", sslmode="verify-full", ca=pki.ca_pem)
    assert p["base_url"] == "https://localhost:1"


# -- opensearch-py -------------------------------------------------------------------


def test_opensearch_gets_the_context_and_nothing_it_would_ignore(pki):
    p = tlsconnect.params("opensearch", "https://u:p@localhost:9200/prefix", ca=pki.ca_pem)
    assert isinstance(p["ssl_context"], ssl.SSLContext)
    assert not {"verify_certs", "ca_certs", "client_cert", "ssl_assert_hostname"} & set(p)
    assert p["hosts"] == [{"host": "localhost", "port": 9200, "url_prefix": "/prefix"}]
    assert p["use_ssl"] is True and p["http_auth"] == ("u", "p")


def test_opensearch_verify_ca_keeps_the_plans_context_and_turns_the_pools_check_off(pki):
    from opensearchpy import Urllib3HttpConnection

    p = tlsconnect.params(
        "opensearch", "https://localhost:9200", sslmode="verify-ca", ca=pki.ca_pem
    )
    assert p["ssl_context"].check_hostname is False
    assert p["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert issubclass(p["connection_class"], Urllib3HttpConnection)
    assert "ca_certs" not in p and "ssl_assert_hostname" not in p
    # the context holds the pair, so an encrypted key works under verify-ca too
    encrypted = tlsconnect.params(
        "opensearch",
        "https://localhost:9200",
        sslmode="verify-ca",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client_key_encrypted_path,
        key_password=pki.client_key_password,
    )
    assert encrypted["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_opensearch_refuses_a_connection_class_that_drops_the_context(pki):
    from opensearchpy import RequestsHttpConnection, Urllib3HttpConnection

    with pytest.raises(ConfigError, match="RequestsHttpConnection"):
        tlsconnect.params(
            "opensearch", "https://localhost:1", connection_class=RequestsHttpConnection
        )
    p = tlsconnect.params(
        "opensearch", "https://localhost:1", connection_class=Urllib3HttpConnection
    )
    assert p["connection_class"] is Urllib3HttpConnection


def test_opensearch_has_no_place_for_a_uri_query():
    with pytest.raises(ConfigError, match="no place in opensearch-py"):
        tlsconnect.params("opensearch", "https://localhost:1/?pretty=true")


# -- clickhouse-connect --------------------------------------------------------------


def test_clickhouse_goes_through_a_pool_holding_the_plans_context(pki):
    p = tlsconnect.params("clickhouse", "https://localhost:8443")
    context = p["pool_mgr"].connection_pool_kw["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    # neither the OS store nor a CA file of clickhouse-connect's choosing: the plan's
    assert "ca_cert" not in p and "verify" not in p


def test_clickhouse_verify_ca_goes_through_its_own_pool_manager(pki):
    p = tlsconnect.params(
        "clickhouse", "https://localhost:8443", sslmode="verify-ca", ca=pki.ca_pem
    )
    pool = p["pool_mgr"]
    assert pool.connection_pool_kw["assert_hostname"] is False
    assert pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert "ca_cert" not in p and "verify" not in p


def test_clickhouse_with_a_certificate_and_a_password_authenticates_by_password(https, pki):
    uri = target(https, "avnadmin:pw") + "/analytics?compress=false"
    p = tlsconnect.params(
        "clickhouse", uri, ca=pki.ca_pem, cert=pki.client.cert_path, key=pki.client.key_path
    )
    assert p["tls_mode"] == "strict" and p["database"] == "analytics"
    assert p["compress"] == "false"
    assert via_clickhouse(p, https) == "avnadmin"
    request = https.requests[-1]
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"avnadmin:pw").decode()
    assert request.peer_serial == pki.client.cert.serial_number
    given = tlsconnect.params(
        "clickhouse",
        uri,
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
        tls_mode="mutual",
    )
    assert given["tls_mode"] == "mutual"


def test_clickhouse_refuses_a_tls_setting_in_the_uri_query():
    with pytest.raises(ConfigError, match="ca_cert="):
        tlsconnect.params("clickhouse", "https://localhost:1/?ca_cert=/tmp/x.pem")


# -- a missing driver ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "module"),
    [
        ("httpx", "httpx"),
        ("requests", "requests"),
        ("opensearch", "opensearchpy"),
        ("clickhouse", "clickhouse_connect"),
        ("cassandra", "cassandra"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(driver, module, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(tlsconnect.MissingDependencyError) as info:
        tlsconnect.params(driver, "https://localhost:1")
    assert f'pip install "tlsconnect[{driver}]"' in str(info.value)


def test_why_opensearch_verify_ca_cannot_use_a_context(broken, pki):
    """The pitfall behind the file options: given a context that skips the host name
    check, urllib3 checks it itself (opensearch-py passes no assert_hostname=False)."""
    from opensearchpy import OpenSearch

    server = broken["wronghost"]
    context = tlsconnect.resolve("opensearch", sslmode="verify-ca", ca=pki.ca_pem).ssl_context()
    assert context.check_hostname is False
    client = OpenSearch(
        hosts=[{"host": "localhost", "port": server.port}],
        use_ssl=True,
        ssl_context=context,
        max_retries=0,
        timeout=10,
    )
    with pytest.raises(Exception) as info:
        client.info()
    client.close()
    # urllib3's own check of the name (its CertificateError), not OpenSSL's
    assert_refused(Why.HOST_NAME, exc=info.value)


# -- urllib3 -------------------------------------------------------------------------


def test_urllib3_needs_assert_hostname_false_for_verify_ca(broken, creds):
    """urllib3 checks the host name itself on a context that does not, unless told
    assert_hostname=False: the context alone refuses what verify-ca accepts."""
    import urllib3

    server = broken["wronghost"]
    p = tlsconnect.params("urllib3", target(server), sslmode="verify-ca", credentials=creds)
    assert p["assert_hostname"] is False and p["cert_reqs"] == "CERT_REQUIRED"
    with urllib3.PoolManager(ssl_context=p["ssl_context"]) as http:
        with pytest.raises(urllib3.exceptions.SSLError, match="match|mismatch|not valid"):
            http.request("GET", server.url("/"), timeout=10, retries=False)
    assert via_urllib3(p, server) == "avnadmin"


def test_urllib3_keeps_the_callers_headers_beside_the_uris_credentials(https, pki):
    p = tlsconnect.params(
        "urllib3", target(https, "avnadmin:pw"), ca=pki.ca_pem, headers={"X-Trace": "t1"}
    )
    assert via_urllib3(p, https) == "avnadmin"
    assert https.requests[-1].headers["x-trace"] == "t1"


# -- the schema registry client ------------------------------------------------------


def test_schema_registry_refuses_verify_ca_and_says_why(pki):
    with pytest.raises(ConfigError, match="schema registry client cannot do that.*verify-full"):
        tlsconnect.params(
            "schema-registry", "https://localhost:1", sslmode="verify-ca", ca=pki.ca_pem
        )
    with pytest.raises(ConfigError, match="require' with a CA verifies the chain"):
        tlsconnect.params(
            "schema-registry", "https://localhost:1", sslmode="require", ca=pki.ca_pem
        )


def test_schema_registry_trusts_the_project_ca_and_the_public_cas_when_a_ca_is_given(pki):
    import certifi

    p = tlsconnect.params("schema-registry", "https://avnadmin:pw@localhost:1", ca=pki.ca_pem)
    bundle = pathlib.Path(p["ssl.ca.location"]).read_bytes()
    assert pki.ca_pem.read_bytes().strip() in bundle
    assert pathlib.Path(certifi.where()).read_bytes().strip() in bundle
    # the URI's user goes to basic.auth.user.info, never in the url (the client refuses both)
    assert p["url"] == "https://localhost:1" and p["basic.auth.user.info"] == "avnadmin:pw"
    public = tlsconnect.params("schema-registry", "https://localhost:1")
    assert public["ssl.ca.location"] == certifi.where()


def test_without_tlsconnect_the_schema_registry_client_trusts_ssl_cert_file(
    https, pki, monkeypatch
):
    """The control for the environment test above: given no ssl.ca.location, the client
    builds its context from SSL_CERT_FILE, which here trusts the project CA."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    with SchemaRegistryClient({"url": https.url(""), "max.retries": 0}) as client:
        assert client.get_subjects() == SUBJECTS


# -- aiohttp: the parameters are made inside the running loop ------------------------


def via_aiohttp(server: HTTPSServer, *args, **options) -> str | None:
    """``params("aiohttp", ...)`` inside the coroutine, one session, GET /; the user the
    server saw. The connector is closed with the session."""
    import aiohttp

    async def run() -> str | None:
        p = tlsconnect.params("aiohttp", *args, **options)
        async with aiohttp.ClientSession(**p, timeout=aiohttp.ClientTimeout(total=10)) as s:
            async with s.get("/") as response:
                response.raise_for_status()
                user = (await response.json())["user"]
        assert p["connector"].closed  # one p serves one session
        return user

    return asyncio.run(run())


def aiohttp_refused(server: HTTPSServer, *args, **options) -> BaseException:
    import aiohttp

    with pytest.raises(aiohttp.ClientConnectorError) as info:
        via_aiohttp(server, *args, **options)
    return info.value


def test_aiohttp_verify_full_connects_and_presents_the_client_certificate(https, creds, pki):
    assert via_aiohttp(https, target(https), credentials=creds) == "avnadmin"
    assert https.requests[-1].peer_serial == pki.client.cert.serial_number


def test_aiohttp_refuses_another_host_under_verify_full_and_accepts_it_under_verify_ca(
    broken, pki, creds
):
    server = broken["wronghost"]
    error = aiohttp_refused(server, target(server), ca=pki.ca_pem)
    assert_refused(Why.HOST_NAME, exc=error)
    assert via_aiohttp(server, target(server), sslmode="verify-ca", credentials=creds)


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_aiohttp_refuses_a_server_from_another_ca(broken, pki, sslmode):
    server = broken["othersigned"]
    error = aiohttp_refused(server, target(server), sslmode=sslmode, ca=pki.ca_pem)
    assert_refused(Why.UNTRUSTED_ISSUER, exc=error)


def test_aiohttp_a_server_requiring_a_client_certificate_gets_it(broken, creds, pki):
    server = broken["mtls"]
    server.requests.clear()
    assert via_aiohttp(server, target(server), credentials=creds) == "avnadmin"
    assert server.requests[-1].peer_serial == pki.client.cert.serial_number


def test_aiohttp_the_environment_never_widens_the_trust(https, pki, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    error = aiohttp_refused(https, target(https), trust="public")
    assert_refused(Why.UNTRUSTED_ISSUER, exc=error)


def test_aiohttp_carries_the_uris_credentials_and_passes_options_where_they_belong(https, pki):
    uri = target(https, "avnadmin:s3cr%40t")
    assert via_aiohttp(https, uri, ca=pki.ca_pem, limit=2, raise_for_status=True) == "avnadmin"
    expected = "Basic " + base64.b64encode(b"avnadmin:s3cr@t").decode()
    assert https.requests[-1].headers["authorization"] == expected


def test_aiohttp_params_outside_the_running_loop_say_where_to_call_them(pki):
    with pytest.raises(ConfigError, match="inside a running event loop"):
        tlsconnect.params("aiohttp", "https://localhost:1", ca=pki.ca_pem)
    with pytest.raises(ConfigError, match="set by tlsconnect"):
        asyncio.run(_aiohttp_params("https://localhost:1", ca=pki.ca_pem, ssl=False))


async def _aiohttp_params(*args, **options) -> dict:
    return tlsconnect.params("aiohttp", *args, **options)


@pytest.mark.parametrize(
    ("driver", "module", "extra", "target"),
    [
        ("aiohttp", "aiohttp", "aiohttp", "https://h:443"),
        ("urllib3", "urllib3", "urllib3", "https://h:443"),
        ("schema-registry", "confluent_kafka", "schema-registry", "https://h:443"),
        ("clickhouse-driver", "clickhouse_driver", "clickhouse-driver", "h:9440"),
    ],
)
def test_missing_driver_names_the_extra(pki, monkeypatch, driver, module, extra, target):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(tlsconnect.MissingDependencyError) as info:
        tlsconnect.params(driver, target, ca=pki.ca_pem)
    assert f'pip install "tlsconnect[{extra}]"' in str(info.value)
