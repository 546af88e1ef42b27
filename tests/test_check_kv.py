"""tlsconnect check against real Redis 7 and MariaDB 10.11: the TLS handshake and one
protocol round trip each (Redis: PING; MySQL: the greeting and SSLRequest before TLS,
then a login that sends no password), so that a refused client certificate is caught
after a TLS 1.3 handshake.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

import tlsconnect
from _kv_servers import KVServers, kv_servers
from tlsconnect import ErrorClass
from tlsconnect._cli import main


@pytest.fixture(scope="session")
def kv(pki, mariadb, request) -> KVServers:
    servers = kv_servers(pki, mariadb)
    request.addfinalizer(servers.stop)
    return servers


def assert_failed(report, error_class: ErrorClass) -> None:
    assert not report.ok, str(report)
    assert report.error_class == error_class.value, str(report)
    assert report.error and report.fix, str(report)


# -- Redis ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_redis_with_a_password_is_fine_and_says_credentials_are_needed(kv, pki, host):
    server = kv.redis("good")
    report = tlsconnect.check(f"rediss://{host}:{server.port}", ca=pki.ca_pem)
    assert report.ok, str(report)
    assert report.chain_verified and report.hostname_verified
    assert report.server_message.startswith("-NOAUTH")
    assert any("credentials" in note for note in report.notes)
    assert report.timings["protocol_round_trip"] is not None


def test_redis_password_in_the_uri_is_never_sent(kv, pki):
    server = kv.redis("good")
    report = tlsconnect.check(server.url(), ca=pki.ca_pem)
    assert report.ok and report.server_message.startswith("-NOAUTH"), str(report)
    assert server.password not in json.dumps(report.to_dict())


def test_valkey_uri_pongs_with_a_client_certificate(kv, pki):
    server = kv.redis("mtls")
    report = tlsconnect.check(
        f"valkeys://localhost:{server.port}",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
    )
    assert report.ok, str(report)
    assert report.service == "valkey" and report.server_message == "+PONG"
    assert report.client_cert_sent


def test_redis_without_the_required_client_certificate(kv, pki):
    server = kv.redis("mtls")
    report = tlsconnect.check(f"rediss://localhost:{server.port}", ca=pki.ca_pem)
    assert_failed(report, ErrorClass.CLIENT_CERT_REQUIRED)


def test_redis_refuses_another_projects_client_certificate_after_the_handshake(kv, pki):
    server = kv.redis("mtls")
    report = tlsconnect.check(
        f"rediss://localhost:{server.port}",
        ca=pki.ca_pem,
        cert=pki.other_client.cert_path,
        key=pki.other_client.key_path,
    )
    assert_failed(report, ErrorClass.CLIENT_CERT_REJECTED)
    assert report.tls_version == "TLSv1.3"  # the refusal came after the handshake


def test_redis_from_another_ca_is_untrusted(kv, pki):
    server = kv.redis("othersigned")
    report = tlsconnect.check(f"rediss://localhost:{server.port}", ca=pki.ca_pem)
    assert_failed(report, ErrorClass.UNTRUSTED_ISSUER)
    assert report.chain_verified is False


def test_redis_wrong_host(kv, pki):
    server = kv.redis("wronghost")
    report = tlsconnect.check(f"rediss://localhost:{server.port}", ca=pki.ca_pem)
    assert_failed(report, ErrorClass.HOSTNAME_MISMATCH)
    assert report.chain_verified is True and report.hostname_verified is False
    ok = tlsconnect.check(f"rediss://localhost:{server.port}", ca=pki.ca_pem, sslmode="verify-ca")
    assert ok.ok, str(ok)


def test_plaintext_redis_is_no_tls(kv, pki):
    server = kv.redis("plaintext")
    report = tlsconnect.check(f"rediss://localhost:{server.port}", ca=pki.ca_pem, timeout=3)
    assert_failed(report, ErrorClass.NO_TLS)


def test_a_server_that_answers_ping_strangely_is_not_redis(pki, tls_server):
    server = tls_server("good")  # TLS, then "OK" and a close: not Redis's "+PONG"
    report = tlsconnect.check(f"rediss://localhost:{server.port}", ca=pki.ca_pem, timeout=3)
    assert_failed(report, ErrorClass.PROTOCOL_ERROR)
    assert report.chain_verified is True and report.hostname_verified is True, str(report)


# -- MySQL ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_mysql_reaches_the_login_and_never_sends_the_password(kv, pki, host):
    server = kv.mariadb()
    target = server.url().replace("@localhost:", f"@{host}:")
    report = tlsconnect.check(target, ca=pki.ca_pem)
    assert report.ok, str(report)
    assert report.chain_verified and report.hostname_verified
    assert "MariaDB" in report.server_message and "using password: NO" in report.server_message
    assert any("never sends a password" in note for note in report.notes)
    assert server.password not in json.dumps(report.to_dict())


def test_mysql_x509_user_logs_in_with_the_client_certificate(kv, pki):
    server = kv.mariadb()
    report = tlsconnect.check(
        server.url(user=server.x509_user),
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
    )
    assert report.ok, str(report)
    assert report.server_message.endswith("OK: logged in without a password")


def test_mysql_refuses_another_projects_client_certificate_after_the_handshake(kv, pki):
    server = kv.mariadb()
    report = tlsconnect.check(
        server.url(user=server.x509_user),
        ca=pki.ca_pem,
        cert=pki.other_client.cert_path,
        key=pki.other_client.key_path,
    )
    assert_failed(report, ErrorClass.CLIENT_CERT_REJECTED)


def test_mysql_from_another_ca_is_untrusted(kv, pki):
    report = tlsconnect.check(kv.mariadb("othersigned").url(), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.UNTRUSTED_ISSUER)
    assert report.peer_subject  # read after MySQL's own preamble


def test_mysql_wrong_host_reads_the_chain_after_the_preamble(kv, pki):
    server = kv.mariadb("wronghost")
    report = tlsconnect.check(server.url(), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.HOSTNAME_MISMATCH)
    assert report.chain_verified is True and "wrong.example.com" in str(report)
    assert tlsconnect.check(server.url(), ca=pki.ca_pem, sslmode="verify-ca").ok


def test_plaintext_mysql_is_no_tls(kv, pki):
    report = tlsconnect.check(kv.mariadb("plaintext").url(), ca=pki.ca_pem)
    assert_failed(report, ErrorClass.NO_TLS)
    assert "CLIENT_SSL" in report.error


def test_pymysql_verification_error_names_the_certificate(kv, pki):
    """The driver's own error grows the diagnosis: the extra, reading connection speaks
    MySQL's preamble too."""
    import pymysql

    p = tlsconnect.params("pymysql", kv.mariadb("othersigned").url(), ca=pki.ca_pem)
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(**p, connect_timeout=10)
    assert "Fix:" in str(info.value) and "different project" in str(info.value)


def _serve_once(payload: bytes) -> tuple[int, threading.Thread]:
    """A one-shot TCP server that sends ``payload`` and closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        with listener:
            listener.settimeout(10)
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(payload)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def test_mysql_error_before_tls_is_reported(pki):
    message = b"\xff\x10\x04Too many connections"
    port, thread = _serve_once(len(message).to_bytes(3, "little") + b"\x00" + message)
    report = tlsconnect.check(f"127.0.0.1:{port}", service="mysql", ca=pki.ca_pem, timeout=3)
    thread.join(5)
    assert_failed(report, ErrorClass.PROTOCOL_ERROR)
    assert "Too many connections" in report.error


def test_not_mysql_at_all(pki):
    port, thread = _serve_once(b"SSH-2.0-OpenSSH_9.2\r\n")
    report = tlsconnect.check(f"127.0.0.1:{port}", service="mysql", ca=pki.ca_pem, timeout=3)
    thread.join(5)
    assert_failed(report, ErrorClass.PROTOCOL_ERROR)


def test_cli_check_json_for_mysql_and_redis(kv, pki, capsys):
    server = kv.mariadb()
    assert main(["check", server.url(), "--ca", str(pki.ca_pem), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["service"] == "mysql" and out["hostname_verified"] is True
    redis = kv.redis("othersigned")
    target = f"rediss://localhost:{redis.port}"
    assert main(["check", target, "--ca", str(pki.ca_pem), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["error_class"] == "untrusted_issuer" and out["chain_verified"] is False


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (
            "mysql://u:p@ss@h:3306/db?ssl-mode=REQUIRED",
            "mysql://u:***@h:3306/db?ssl-mode=REQUIRED",
        ),
        ("rediss://:pw@h:6380/0", "rediss://:***@h:6380/0"),
        ("rediss://h:6380", "rediss://h:6380"),
        (
            "postgres://u@h/db?password=x&sslmode=require",
            "postgres://u@h/db?password=***&sslmode=require",
        ),
        ("host=h password='a b' user=u", "host=h password=*** user=u"),
    ],
)
def test_report_target_never_shows_a_password(target, shown):
    from tlsconnect._target import redact_target

    assert redact_target(target) == shown


def test_check_report_hides_the_uri_password_everywhere(kv, pki):
    server = kv.mariadb()
    report = tlsconnect.check(server.url(), ca=pki.ca_pem)
    for text in (str(report), json.dumps(report.to_dict()), report._repr_html_()):
        assert server.password not in text


def test_mysql_server_that_never_greets(pki):
    from _cli_fixtures import SilentServer

    server = SilentServer()
    try:
        report = tlsconnect.check(
            f"127.0.0.1:{server.port}", service="mysql", ca=pki.ca_pem, timeout=0.5
        )
    finally:
        server.stop()
    assert_failed(report, ErrorClass.PROTOCOL_ERROR)
    assert "no greeting" in report.error


def test_mysql_context_explains_a_failure_on_a_direct_tls_server_too(pki, tls_server):
    """A MySQL-service context used on a server that speaks TLS at once (no greeting): the
    reading connection waits briefly for a greeting, then reads the certificate."""
    import ssl

    server = tls_server("othersigned")
    context = tlsconnect.ssl_context("mysql", ca=pki.ca_pem)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError, match="Fix:.*") as info:
            context.wrap_socket(raw, server_hostname="localhost")
    assert "Other Project CA" in str(info.value) or "different project" in str(info.value)
