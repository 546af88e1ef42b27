"""tlsconnect check speaks HTTP to the services reached over HTTPS: ``HEAD /`` after the
handshake, so that a refused client certificate is caught even under TLS 1.3, and any HTTP
status (even 401) says TLS is fine. Against real servers on loopback."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

import tlsconnect
from tlsconnect import ErrorClass
from tlsconnect._cli import main
from tlsconnect._model import HTTP_SERVICES, Service
from tlsconnect.testing import HTTPResponse, HTTPSServer


@pytest.fixture(scope="module")
def mtls_server(pki) -> Iterator[HTTPSServer]:
    """Requires a client certificate from the project CA (TLS 1.3: refusals arrive after
    the handshake)."""
    with HTTPSServer(*pki.server.pair, client_ca=pki.ca_pem, require_client_cert=True) as server:
        yield server


class _PlainHandler(http.server.BaseHTTPRequestHandler):
    timeout = 2  # a TLS ClientHello read as a request line must not hold the thread

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def plaintext_http() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PlainHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_every_service_reached_over_https_gets_the_http_round_trip():
    assert {Service.OPENSEARCH, Service.CLICKHOUSE, Service.GRAFANA} <= HTTP_SERVICES
    assert Service.CASSANDRA not in HTTP_SERVICES and Service.REDIS not in HTTP_SERVICES


@pytest.mark.parametrize("service", sorted(s.value for s in HTTP_SERVICES))
def test_https_service_succeeds_with_a_head_round_trip(tlsconnect_https_server, pki, service):
    report = tlsconnect.check(
        f"https://localhost:{tlsconnect_https_server.port}", service=service, ca=pki.ca_pem
    )
    assert report.ok, str(report)
    assert report.server_message == "HTTP 200 OK"
    assert report.timings["protocol_round_trip"] is not None
    (request,) = tlsconnect_https_server.requests
    assert request.method == "HEAD" and request.path == "/"
    assert request.headers["host"] == f"localhost:{tlsconnect_https_server.port}"


def test_a_401_means_tls_is_fine_and_credentials_are_needed(tlsconnect_https_server, pki):
    tlsconnect_https_server.route("/", lambda request: HTTPResponse(401, "log in"))
    report = tlsconnect.check(
        f"localhost:{tlsconnect_https_server.port}", service="opensearch", ca=pki.ca_pem
    )
    assert report.ok, str(report)
    assert report.server_message == "HTTP 401 Unauthorized"
    assert any("asks for credentials" in note for note in report.notes)


def test_the_client_certificate_is_presented_and_accepted(mtls_server, pki):
    report = tlsconnect.check(
        f"localhost:{mtls_server.port}",
        service="clickhouse",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
    )
    assert report.ok, str(report)
    assert mtls_server.requests[-1].peer_serial == pki.client.cert.serial_number


def test_another_projects_client_certificate_refused_after_the_handshake(mtls_server, pki):
    report = tlsconnect.check(
        f"localhost:{mtls_server.port}",
        service="opensearch",
        ca=pki.ca_pem,
        cert=pki.other_client.cert_path,
        key=pki.other_client.key_path,
    )
    assert not report.ok
    assert report.tls_version == "TLSv1.3"  # the handshake completed; the refusal came after
    assert report.error_class == ErrorClass.CLIENT_CERT_REJECTED.value, str(report)


def test_no_client_certificate_to_a_server_that_requires_one(mtls_server, pki):
    report = tlsconnect.check(f"localhost:{mtls_server.port}", service="grafana", ca=pki.ca_pem)
    assert not report.ok
    assert report.error_class == ErrorClass.CLIENT_CERT_REQUIRED.value, str(report)


def test_an_nginx_style_496_is_a_missing_client_certificate(tlsconnect_https_server, pki):
    tlsconnect_https_server.route(
        "/", lambda request: HTTPResponse(496, "", {"Connection": "close"})
    )
    report = tlsconnect.check(
        f"localhost:{tlsconnect_https_server.port}", service="opensearch", ca=pki.ca_pem
    )
    assert report.error_class == ErrorClass.CLIENT_CERT_REQUIRED.value, str(report)


def test_a_server_from_another_ca_is_refused(tls_server, pki):
    server = tls_server("othersigned")
    report = tlsconnect.check(f"localhost:{server.port}", service="opensearch", ca=pki.ca_pem)
    assert report.error_class == ErrorClass.UNTRUSTED_ISSUER.value, str(report)
    assert report.chain_verified is False


def test_a_certificate_for_another_host_is_a_hostname_mismatch(tls_server, pki):
    server = tls_server("wronghost")
    report = tlsconnect.check(f"localhost:{server.port}", service="opensearch", ca=pki.ca_pem)
    assert report.error_class == ErrorClass.HOSTNAME_MISMATCH.value, str(report)
    assert report.chain_verified is True and report.hostname_verified is False


def test_a_plaintext_http_server_is_no_tls(plaintext_http):
    report = tlsconnect.check(f"127.0.0.1:{plaintext_http}", service="opensearch", timeout=5)
    assert report.error_class == ErrorClass.NO_TLS.value, str(report)
    assert "plaintext HTTP (HTTP 200 OK)" in report.error


def test_a_tls_server_that_does_not_speak_http_is_a_protocol_error(tls_server, pki):
    server = tls_server("good", greeting=b"+OK not http\r\n")
    report = tlsconnect.check(f"localhost:{server.port}", service="opensearch", ca=pki.ca_pem)
    assert report.error_class == ErrorClass.PROTOCOL_ERROR.value, str(report)
    assert "not HTTP" in report.error


def test_the_cli_reports_the_http_status(tlsconnect_https_server, pki, capsys):
    code = main(
        [
            "check",
            f"https://localhost:{tlsconnect_https_server.port}",
            "--service",
            "opensearch",
            "--ca",
            str(pki.ca_pem),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["ok"] is True
    assert data["server_message"] == "HTTP 200 OK"
