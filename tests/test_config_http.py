"""tlsconnect config --driver httpx|requests|urllib3|aiohttp|opensearch|clickhouse|
clickhouse-driver|cassandra|schema-registry: durable JSON naming files, and for the drivers
whose call takes a context or an object, the usage note followed literally (executed as
printed) against the real servers."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import ssl
from collections.abc import Iterator

import pytest

from http_standins import SUBJECTS, basic_user, clickhouse, opensearch, schema_registry
from refusals import Why, assert_refused
from tlsconnect._cli import main
from tlsconnect.testing import HTTPSServer, TLSServer

DRIVERS = [
    "httpx",
    "requests",
    "urllib3",
    "aiohttp",
    "opensearch",
    "clickhouse",
    "cassandra",
    "schema-registry",
]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["config", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def usage_of(err: str) -> str:
    """The code of the printed usage note (``# use: ...``, or ``# <when> use: ...``)."""
    (line,) = [
        line for line in err.splitlines() if line.startswith("# ") and " use: " in f" {line[2:]}"
    ]
    return line.split("use: ", 1)[1]


def follow(err: str, cfg: dict, **names: object) -> dict:
    """Execute the usage note exactly as printed, with ``cfg`` and the modules it names."""
    import aiohttp
    import cassandra.auth
    import cassandra.cluster
    import clickhouse_connect.driver.httputil
    import httpx
    import requests
    import urllib3

    namespace: dict = {
        "cfg": cfg,
        "ssl": ssl,
        "httpx": httpx,
        "requests": requests,
        "clickhouse_connect": clickhouse_connect,
        "cassandra": cassandra,
        "urllib3": urllib3,
        "aiohttp": aiohttp,
        **names,
    }
    exec(usage_of(err), namespace)
    return namespace


@pytest.fixture
def https(tlsconnect_https_server: HTTPSServer) -> HTTPSServer:
    return schema_registry(opensearch(clickhouse(tlsconnect_https_server)))


@pytest.fixture(scope="module")
def wronghost(pki) -> Iterator[HTTPSServer]:
    with HTTPSServer(*pki.wronghost.pair) as server:
        yield schema_registry(opensearch(clickhouse(server)))


def uri(server, scheme="https", userinfo="avnadmin") -> str:
    return f"{scheme}://{userinfo}@localhost:{server.port}"


def mtls(pki, out) -> list[str]:
    return ["--credentials-dir", str(pki.creds_dir), "--output-dir", str(out)]


def connect(driver: str, server: HTTPSServer, err: str, cfg: dict) -> str:
    """Use a written-out configuration as its usage note says; the user the server saw."""
    if driver == "httpx":
        client = follow(err, cfg)["client"]
        with client:
            return client.get("/").json()["user"]
    if driver == "requests":
        return follow(err, cfg, url=server.url("/"))["response"].json()["user"]
    if driver == "opensearch":  # no note: the keywords are the call's
        from opensearchpy import OpenSearch

        client = OpenSearch(**cfg, max_retries=0, timeout=10)
        try:
            return client.info()["user"]
        finally:
            client.close()
    if driver == "clickhouse":
        client = follow(err, cfg)["client"]
        try:
            return client.command("SELECT currentUser()")
        finally:
            client.close()
    if driver == "urllib3":
        with follow(err, cfg)["http"] as http:
            response = http.request("GET", server.url("/"), timeout=10, retries=False)
            return response.json()["user"]
    if driver == "aiohttp":

        async def run() -> str:
            session = follow(err, cfg)["session"]  # made inside the running loop
            async with session, session.get("/") as response:
                return (await response.json())["user"]

        return asyncio.run(run())
    if driver == "schema-registry":
        with follow(err, {**cfg, "max.retries": 0})["client"] as client:
            assert client.get_subjects() == SUBJECTS
        return basic_user(server.requests[-1])
    raise AssertionError(driver)


@pytest.mark.parametrize(
    "driver",
    ["httpx", "requests", "urllib3", "aiohttp", "opensearch", "clickhouse", "schema-registry"],
)
def test_written_configuration_connects_with_the_client_certificate(
    driver, https, pki, tmp_path, capsys
):
    code, out, err = run(capsys, "--driver", driver, uri(https), *mtls(pki, tmp_path))
    assert code == 0, err
    assert "PRIVATE KEY" not in out
    cfg = json.loads(out)
    if driver in ("httpx", "urllib3", "aiohttp"):  # a context's recipe: CA and certifi, two files
        assert cfg["tls"]["cafiles"][0] == str(tmp_path / "ca.pem")
        assert len(cfg["tls"]["cafiles"]) == 2
    else:  # a driver that takes one CA file: the project CA and the public CAs in one
        assert (tmp_path / "ca-bundle.pem").exists()
        assert f"wrote {tmp_path / 'ca-bundle.pem'}" in err
    assert connect(driver, https, err, cfg) == "avnadmin"
    assert https.requests[-1].peer_serial == pki.client.cert.serial_number


@pytest.mark.parametrize(
    "driver", ["requests", "opensearch", "clickhouse", "clickhouse-driver", "schema-registry"]
)
def test_a_ca_for_a_public_ca_service_needs_an_output_dir(driver, https, pki, capsys):
    """For a driver that takes one CA file, the project CA and the public CAs together are
    one file that must outlive the process; it is written only where the user said."""
    target = uri(https, "clickhouse" if driver == "clickhouse-driver" else "https")
    code, _, err = run(capsys, "--driver", driver, target, "--ca", str(pki.ca_pem))
    assert code == 2 and "pass --output-dir DIR" in err


@pytest.mark.parametrize("driver", ["httpx", "urllib3", "aiohttp", "cassandra"])
def test_a_contexts_recipe_names_the_ca_and_certifi_and_needs_no_output_dir(
    driver, https, pki, capsys
):
    """A context's recipe loads the project CA and certifi's bundle as two files, both of
    which outlive the process: nothing needs writing."""
    import certifi

    code, out, err = run(capsys, "--driver", driver, uri(https), "--ca", str(pki.ca_pem))
    assert code == 0, err
    assert json.loads(out)["tls"]["cafiles"] == [str(pki.ca_pem), certifi.where()]


@pytest.mark.parametrize("driver", ["httpx", "urllib3", "aiohttp", "opensearch", "clickhouse"])
def test_written_verify_ca_accepts_another_host(driver, wronghost, pki, tmp_path, capsys):
    code, out, err = run(
        capsys, "--driver", driver, uri(wronghost), *mtls(pki, tmp_path), "--sslmode", "verify-ca"
    )
    assert code == 0, err
    cfg = json.loads(out)
    assert connect(driver, wronghost, err, cfg) == "avnadmin"


@pytest.mark.parametrize(
    "driver",
    ["httpx", "requests", "urllib3", "aiohttp", "opensearch", "clickhouse", "schema-registry"],
)
def test_written_verify_full_refuses_another_host(driver, wronghost, pki, tmp_path, capsys):
    code, out, err = run(capsys, "--driver", driver, uri(wronghost), *mtls(pki, tmp_path))
    assert code == 0, err
    cfg = json.loads(out)
    with pytest.raises(Exception) as info:
        connect(driver, wronghost, err, cfg)
    assert_refused(Why.HOST_NAME, exc=info.value, need_ssl_error=True)


@pytest.mark.parametrize("driver", ["requests", "schema-registry"])
def test_written_requests_and_schema_registry_refuse_verify_ca(driver, pki, tmp_path, capsys):
    code, _, err = run(
        capsys,
        "--driver",
        driver,
        "https://localhost:1",
        *mtls(pki, tmp_path),
        "--sslmode",
        "verify-ca",
    )
    assert code == 2 and "cannot do that" in err


@pytest.mark.parametrize(
    "driver",
    ["httpx", "requests", "urllib3", "aiohttp", "opensearch", "clickhouse", "schema-registry"],
)
def test_written_public_trust_refuses_a_project_ca_server(driver, https, capsys):
    code, out, err = run(capsys, "--driver", driver, uri(https))
    assert code == 0, err
    import certifi

    assert certifi.where() in out
    cfg = json.loads(out)
    with pytest.raises(Exception) as info:
        connect(driver, https, err, cfg)
    assert_refused(Why.UNTRUSTED_ISSUER, exc=info.value, need_ssl_error=True)


def test_written_encrypted_key_works_where_the_driver_takes_its_password(
    https, pki, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("KEY_PASSWORD", pki.client_key_password)
    material = [
        "--ca",
        str(pki.ca_pem),
        "--cert",
        str(pki.client.cert_path),
        "--key",
        str(pki.client_key_encrypted_path),
        "--password-env",
        "KEY_PASSWORD",
        "--output-dir",
        str(tmp_path),
    ]
    for driver in ("httpx", "urllib3", "aiohttp", "clickhouse", "schema-registry"):
        code, out, err = run(capsys, "--driver", driver, uri(https), *material)
        assert code == 0, err
        assert connect(driver, https, err, json.loads(out)) == "avnadmin"
        assert https.requests[-1].peer_serial == pki.client.cert.serial_number
    for driver in ("requests", "opensearch"):
        code, _, err = run(capsys, "--driver", driver, uri(https), *material)
        assert code == 2 and "openssl pkey" in err


def test_written_cassandra_configuration_handshakes_through_the_driver(pki, tmp_path, capsys):
    from cassandra.cluster import NoHostAvailable

    with TLSServer(*pki.dnsonly.pair, client_ca=pki.ca_pem) as server:
        code, out, err = run(
            capsys,
            "--driver",
            "cassandra",
            f"cassandra://avnadmin:s3cret@localhost:{server.port}",
            *mtls(pki, tmp_path),
        )
        assert code == 0, err
        cfg = json.loads(out)
        assert cfg["ssl_options"] == {"server_hostname": "localhost"}
        # the password is in a 0600 file named there, read back by the printed recipe
        assert "s3cret" not in out + err
        secret = pathlib.Path(cfg["auth_provider"]["password_file"])
        assert secret.read_text() == "s3cret" and secret.stat().st_mode & 0o777 == 0o600
        assert cfg["auth_provider"] == {"username": "avnadmin", "password_file": str(secret)}
        namespace = follow(err, cfg)
        assert namespace["cfg"]["auth_provider"].password == "s3cret"
        cluster = namespace["cluster"]
        try:
            with pytest.raises(NoHostAvailable) as info:
                cluster.connect()
        finally:
            cluster.shutdown()
        assert "certificate" not in str(info.value).lower()  # past TLS: not a CQL server
        (handshake,) = server.wait_for_handshakes(1)
        assert handshake.ok and handshake.peer_serial == pki.client.cert.serial_number


def test_written_files_are_private(https, pki, tmp_path, capsys):
    code, out, _ = run(capsys, "--driver", "requests", uri(https), *mtls(pki, tmp_path))
    assert code == 0
    cfg = json.loads(out)
    for path in (cfg["verify"], *cfg["cert"]):
        assert os.path.dirname(path) == str(tmp_path)
        assert os.stat(path).st_mode & 0o077 == 0


def test_written_clickhouse_driver_configuration_handshakes_through_the_driver(
    pki, tmp_path, capsys
):
    """The keywords are the call's: ``clickhouse_driver.Client(**cfg)``; the recording
    server sees the client certificate and the native Hello, then ends the stream."""
    import clickhouse_driver

    with TLSServer(
        *pki.server.pair, client_ca=pki.ca_pem, greeting=b"\x00", read_timeout=0.5
    ) as server:
        code, out, err = run(
            capsys,
            "--driver",
            "clickhouse-driver",
            f"clickhouse://avnadmin:s3cret@localhost:{server.port}/analytics",
            *mtls(pki, tmp_path),
        )
        assert code == 0, err
        cfg = json.loads(out)
        assert cfg["ca_certs"] == str(tmp_path / "ca-bundle.pem")
        assert cfg["certfile"] == str(tmp_path / "service.cert")
        # the password is never printed: it is in a 0600 file, read back as the note says
        assert "s3cret" not in out + err
        cfg["password"] = pathlib.Path(cfg.pop("password_file")).read_text()
        assert cfg["password"] == "s3cret"
        client = clickhouse_driver.Client(**cfg, connect_timeout=5, send_receive_timeout=5)
        with pytest.raises(EOFError):  # past TLS: not a ClickHouse server
            client.execute("SELECT 1")
        client.disconnect()
        (handshake,) = server.wait_for_handshakes(1)
        assert handshake.ok and handshake.peer_serial == pki.client.cert.serial_number
