"""tlsconnect.check(): every failure class produced for real, and classified right."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import warnings

import pytest

import tlsconnect
from _cli_fixtures import API_KEYS, GreetingServer, SilentServer, blackhole, closed_port
from tlsconnect import CheckReport, ConfigError, ErrorClass

HOSTS = ["localhost", "127.0.0.1"]


def pg_uri(server, host="localhost", user=None):
    who = f"{user}@" if user else ""
    return f"postgresql://{who}{host}:{server.port}/defaultdb"


def assert_failed(report: CheckReport, error_class: ErrorClass) -> None:
    assert not report.ok, str(report)
    assert report.error_class == error_class.value, str(report)
    assert report.error and report.fix, str(report)
    assert f"FAILED: {error_class.value}" in str(report)


# -- success -------------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_verify_full_postgres_succeeds_with_round_trip(pg, pki, host):
    report = tlsconnect.check(pg_uri(pg.good, host), ca=pki.ca_pem)
    assert report.ok, str(report)
    assert report.error is None and report.error_class is None
    assert report.chain_verified is True and report.hostname_verified is True
    assert report.tls_version in ("TLSv1.2", "TLSv1.3") and report.cipher
    assert "Test Project CA" in report.peer_issuer
    assert report.chain[0]["sans"] == ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    assert len(report.chain[0]["sha256"].split(":")) == 32
    assert all(report.timings[step] is not None for step in report.timings), report.timings
    # The default user is not allowed in, which is about the login, not TLS.
    assert "tlsconnect-check" in (report.server_message or "")


def test_postgres_mutual_tls_logs_in_as_the_certificate_user(pg, pki):
    report = tlsconnect.check(
        pg_uri(pg.good), ca=pki.ca_pem, cert=pki.client.cert_path, key=pki.client.key_path
    )
    assert report.ok, str(report)
    assert report.client_cert_sent
    assert report.server_message.startswith("authentication request")


@pytest.mark.parametrize("host", HOSTS)
def test_kafka_mutual_tls_succeeds_with_api_versions(kafka, pki, host):
    report = tlsconnect.check(
        f"kafka://{host}:{kafka.good.port}",
        credentials=tlsconnect.Credentials.from_directory(pki.creds_dir),
    )
    assert report.ok, str(report)
    assert report.service == "kafka" and report.trust == "project"
    assert report.server_message == "ApiVersions answered (error code 0)"
    assert report.timings["protocol_round_trip"] is not None


def test_require_without_ca_connects_but_says_nothing_was_verified(pg):
    report = tlsconnect.check(pg_uri(pg.othersigned), sslmode="require")
    assert report.ok, str(report)
    assert report.trust == "none"
    assert report.chain_verified is False and report.hostname_verified is False
    assert "NOT verified" in str(report)
    assert any("verifies nothing" in note for note in report.notes)


# -- unreachable --------------------------------------------------------------------


UNRESOLVABLE = "no-such-host.tlsconnect.test"


@pytest.fixture
def resolver_without_the_name(monkeypatch):
    """The system resolver, except that :data:`UNRESOLVABLE` is unknown, as the C library
    says of a name no server knows: no test asks the network's resolver about a name."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, *args, **kwargs):
        asked.append(host)
        if host == UNRESOLVABLE:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_unknown_host_is_unreachable_dns(pki, resolver_without_the_name):
    report = tlsconnect.check(f"{UNRESOLVABLE}:5432", service="pg", ca=pki.ca_pem)
    assert resolver_without_the_name == [UNRESOLVABLE]
    assert_failed(report, ErrorClass.UNREACHABLE)
    assert report.error_detail == "dns"
    assert UNRESOLVABLE in report.error


def test_closed_port_is_unreachable_refused(pki):
    port = closed_port()
    report = tlsconnect.check(f"127.0.0.1:{port}", service="kafka", ca=pki.ca_pem)
    assert_failed(report, ErrorClass.UNREACHABLE)
    assert report.error_detail == "refused"
    assert report.timings["resolve"] is not None and report.timings["tls_handshake"] is None


def test_dropped_connection_is_unreachable_timeout_with_the_timeout(pki):
    with blackhole() as port:
        report = tlsconnect.check(f"127.0.0.1:{port}", service="pg", ca=pki.ca_pem, timeout=0.5)
    assert_failed(report, ErrorClass.UNREACHABLE)
    assert report.error_detail == "timeout"
    assert "timed out after 0.5 s" in report.error
    assert report.timings["tcp_connect"] >= 400


def test_silent_server_times_out_in_the_handshake(pki):
    server = SilentServer()
    try:
        report = tlsconnect.check(
            f"127.0.0.1:{server.port}",
            service="cassandra",
            trust="project",
            ca=pki.ca_pem,
            timeout=0.5,
        )
    finally:
        server.stop()
    assert_failed(report, ErrorClass.UNREACHABLE)
    assert report.error_detail == "timeout"
    assert "TLS handshake" in report.error and "0.5 s" in report.error


# -- no TLS -------------------------------------------------------------------------


def test_postgres_answering_n_to_sslrequest_is_no_tls(pg, pki):
    report = tlsconnect.check(pg_uri(pg.plaintext), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.NO_TLS)
    assert "'N'" in report.error


def test_plaintext_kafka_listener_is_no_tls(kafka, pki):
    report = tlsconnect.check(
        f"kafka://127.0.0.1:{kafka.good.backend_port}",
        credentials=tlsconnect.Credentials.from_directory(pki.creds_dir),
        timeout=2,
    )
    assert_failed(report, ErrorClass.NO_TLS)
    assert "plaintext Kafka" in report.error


def test_plaintext_banner_port_is_no_tls(pki):
    server = GreetingServer()
    try:
        report = tlsconnect.check(f"127.0.0.1:{server.port}", service="redis", timeout=3)
    finally:
        server.stop()
    assert_failed(report, ErrorClass.NO_TLS)


# -- untrusted issuer ---------------------------------------------------------------


def test_other_projects_ca_is_named_as_such(pg, pki):
    report = tlsconnect.check(pg_uri(pg.othersigned), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.UNTRUSTED_ISSUER)
    assert report.error_detail == "other_project_ca"
    assert "'Other Project CA'" in report.error and "different project's CA" in report.error
    assert "Test Project CA" in report.error  # the trust that was used
    assert "Other Project CA" in report.peer_issuer  # read by the diagnostic handshake
    assert report.tls_version is None  # nothing was connected with weaker settings


def test_public_trust_against_project_ca_server_says_pass_the_project_ca(kafka, pki):
    report = tlsconnect.check(
        f"kafka://localhost:{kafka.good.port}",
        trust="public",
        cert=pki.client.cert_path,
        key=pki.client.key_path,
    )
    assert_failed(report, ErrorClass.UNTRUSTED_ISSUER)
    assert report.error_detail == "project_ca_missing"
    assert "'Test Project CA'" in report.error and "public CAs" in report.error
    assert "ca.pem" in report.fix and "avn service user-creds-download" in report.fix


def test_public_ca_service_with_a_private_ca_server_is_untrusted(tls_server):
    server = tls_server("good")
    report = tlsconnect.check(f"localhost:{server.port}", service="redis")
    assert_failed(report, ErrorClass.UNTRUSTED_ISSUER)
    assert report.trust == "public"


# -- host name ----------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_wrong_host_lists_every_name_the_certificate_holds(pg, pki, host):
    report = tlsconnect.check(pg_uri(pg.wronghost, host), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.HOSTNAME_MISMATCH)
    assert f"'{host}'" in report.error and "DNS:wrong.example.com" in report.error
    assert "wrong.example.com" in report.fix


def test_connecting_by_ip_is_named_as_the_cause(pg, pki):
    report = tlsconnect.check(pg_uri(pg.dnsonly, "127.0.0.1"), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.HOSTNAME_MISMATCH)
    assert report.error_detail == "ip"
    assert "connecting by IP address is the cause" in report.error
    assert "localhost" in report.fix
    # by name the same server is fine
    assert tlsconnect.check(pg_uri(pg.dnsonly, "localhost"), ca=pki.ca_pem).ok


def test_kafka_wrong_host(kafka, pki):
    report = tlsconnect.check(
        f"kafka://localhost:{kafka.wronghost.port}",
        credentials=tlsconnect.Credentials.from_directory(pki.creds_dir),
    )
    assert_failed(report, ErrorClass.HOSTNAME_MISMATCH)


# -- validity -----------------------------------------------------------------------


@pytest.mark.parametrize("service", ["pg", "kafka"])
def test_expired_server_certificate_gives_dates(pg, kafka, pki, service):
    target = pg_uri(pg.expired) if service == "pg" else f"kafka://localhost:{kafka.expired.port}"
    report = tlsconnect.check(
        target, credentials=tlsconnect.Credentials.from_directory(pki.creds_dir)
    )
    assert_failed(report, ErrorClass.EXPIRED)
    assert report.error_detail == "server"
    expected = pki.expired.cert.not_valid_after_utc.strftime("%Y-%m-%d")
    assert "the server's certificate" in report.error and expected in report.error


def test_not_yet_valid_server_certificate(pki, tls_server, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    future = pki.issue_cert(
        "future",
        common_name="localhost",
        dns_names=["localhost"],
        ip_addresses=["127.0.0.1"],
        not_before=now + datetime.timedelta(days=10),
        not_after=now + datetime.timedelta(days=400),
    )
    server = tls_server(future)
    report = tlsconnect.check(
        f"localhost:{server.port}", service="cassandra", trust="project", ca=pki.ca_pem
    )
    assert_failed(report, ErrorClass.NOT_YET_VALID)
    assert "not valid before" in report.error


# -- client certificates ------------------------------------------------------------


def test_kafka_without_client_cert_is_client_cert_required(kafka, pki):
    report = tlsconnect.check(f"kafka://localhost:{kafka.good.port}", ca=pki.ca_pem)
    assert_failed(report, ErrorClass.CLIENT_CERT_REQUIRED)
    # stunnel sends a certificate_required alert, or just closes: both are caught
    assert report.error_detail in ("none_sent", "closed_no_cert")
    assert not report.client_cert_sent
    assert report.tls_version == "TLSv1.3"  # caught after the handshake, by the round trip


def test_kafka_with_other_projects_client_cert_is_rejected(kafka, pki):
    report = tlsconnect.check(
        f"kafka://localhost:{kafka.good.port}",
        ca=pki.ca_pem,
        cert=pki.other_client.cert_path,
        key=pki.other_client.key_path,
    )
    assert_failed(report, ErrorClass.CLIENT_CERT_REJECTED)
    assert report.client_cert_sent


def test_postgres_cert_auth_without_client_cert_is_client_cert_required(pg, pki):
    report = tlsconnect.check(pg_uri(pg.good, user="avnadmin"), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.CLIENT_CERT_REQUIRED)
    assert "client certificate" in report.server_message


def test_postgres_with_other_projects_client_cert_is_rejected(pg, pki):
    report = tlsconnect.check(
        pg_uri(pg.good),
        ca=pki.ca_pem,
        cert=pki.other_client.cert_path,
        key=pki.other_client.key_path,
    )
    assert_failed(report, ErrorClass.CLIENT_CERT_REJECTED)


def test_generic_tls_server_requiring_client_cert(pki, tls_server):
    server = tls_server("good", require_client_cert=True)
    report = tlsconnect.check(f"localhost:{server.port}", service="redis", ca=pki.ca_pem)
    assert_failed(report, ErrorClass.CLIENT_CERT_REQUIRED)


# -- protocol -----------------------------------------------------------------------


def test_server_limited_to_tls_1_1_is_protocol_mismatch(pki, tls_server):
    def old_tls(context: ssl.SSLContext) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")

    server = tls_server("good", context_hook=old_tls)
    report = tlsconnect.check(
        f"localhost:{server.port}", service="cassandra", trust="project", ca=pki.ca_pem
    )
    assert_failed(report, ErrorClass.PROTOCOL_MISMATCH)
    assert "TLS 1.2" in report.fix


def test_server_with_no_common_cipher_is_protocol_mismatch(pki, tls_server):
    def rsa_kx_only(context: ssl.SSLContext) -> None:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("AES256-SHA256")

    server = tls_server("good", context_hook=rsa_kx_only)
    report = tlsconnect.check(
        f"localhost:{server.port}", service="cassandra", trust="project", ca=pki.ca_pem
    )
    assert_failed(report, ErrorClass.PROTOCOL_MISMATCH)


# -- the report ---------------------------------------------------------------------


def test_report_json_has_the_api_keys_and_no_key_material(pg, pki):
    report = tlsconnect.check(
        pg_uri(pg.good), ca=pki.ca_pem, cert=pki.client.cert_path, key=pki.client.key_path
    )
    data = report.to_dict()
    assert set(data) >= API_KEYS
    assert set(data["timings"]) == {
        "resolve",
        "tcp_connect",
        "tls_handshake",
        "protocol_round_trip",
    }
    text = json.dumps(data) + str(report) + report._repr_html_()
    key_body = pki.client.key_pem.decode().splitlines()[1]
    assert "PRIVATE KEY" not in text and key_body not in text


def test_report_html_is_a_table_and_escapes(pg, pki):
    report = tlsconnect.check(pg_uri(pg.wronghost), ca=pki.ca_pem)
    html = report._repr_html_()
    assert "<table>" in html and "hostname_mismatch" in html
    assert "'localhost'" not in html  # quotes are escaped
    assert "&#x27;localhost&#x27;" in html


@pytest.mark.parametrize(
    ("target", "service", "message"),
    [
        ("localhost:5432", None, "does not say which service"),
        ("localhost", "pg", "has no port"),
        ("localhost:99999", "pg", "not a number from 1 to 65535"),
        ("kafka://localhost:9092", "postgresql", "is Kafka"),
        ("nosuch://localhost:1", None, "scheme 'nosuch://' is not one tlsconnect knows"),
        ("postgress://localhost:1/db", None, "did you mean postgres://"),
    ],
)
def test_bad_targets_are_config_errors(target, service, message, pki):
    with pytest.raises(ConfigError, match=message):
        tlsconnect.check(target, service=service, ca=pki.ca_pem)


def test_bad_timeout_is_a_config_error(pki):
    with pytest.raises(ConfigError, match="timeout"):
        tlsconnect.check("localhost:1", service="pg", ca=pki.ca_pem, timeout=0)
