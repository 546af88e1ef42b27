"""Prove the test infrastructure (tlsconnect.testing) with raw drivers: nothing of
tlsconnect but its testing module is imported here."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import subprocess
import time
import uuid

import psycopg
import pytest
from cryptography import x509

from refusals import LogTail, Why, assert_refused, server_reasons
from tlsconnect.testing import issue_cert, quiet_resource_leaks


@contextlib.contextmanager
def tls_connect(port, ctx, host="localhost", server_hostname=None):
    """TCP connect + TLS handshake; closes everything on exit or failure."""
    raw = socket.create_connection((host, port), timeout=5)
    try:
        tls = ctx.wrap_socket(raw, server_hostname=server_hostname or host)
    except BaseException:
        raw.close()
        raise
    with tls:
        yield tls


# ---------------------------------------------------------------------------
# PKI
# ---------------------------------------------------------------------------


def _openssl_verify(ca, cert, purpose: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["openssl", "verify", "-x509_strict", "-purpose", purpose, "-CAfile", str(ca), str(cert)],
        capture_output=True,
        text=True,
    )


def test_pki_files_and_strict_verification(pki):
    for leaf in (pki.server, pki.wronghost, pki.dnsonly):
        res = _openssl_verify(pki.ca.cert_path, leaf.cert_path, "sslserver")
        assert res.returncode == 0, res.stdout + res.stderr
    res = _openssl_verify(pki.ca.cert_path, pki.client.cert_path, "sslclient")
    assert res.returncode == 0, res.stdout + res.stderr
    res = _openssl_verify(pki.other_ca.cert_path, pki.othersigned.cert_path, "sslserver")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _openssl_verify(pki.ca.cert_path, pki.othersigned.cert_path, "sslserver").returncode != 0
    res = _openssl_verify(pki.ca.cert_path, pki.expired.cert_path, "sslserver")
    assert res.returncode != 0 and "expired" in (res.stdout + res.stderr)

    assert pki.client.common_name == "avnadmin"
    for p in (
        pki.server.key_path,
        pki.client.key_path,
        pki.client_key_encrypted_path,
        pki.creds_dir / "service.key",
    ):
        assert p.stat().st_mode & 0o777 == 0o600, p
    assert pki.client.key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pki.client_key_encrypted_path.read_bytes().startswith(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
    )
    assert {p.name for p in pki.creds_dir.iterdir()} == {"ca.pem", "service.cert", "service.key"}

    san = pki.dnsonly.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == []


def test_python_strict_context_accepts_chain(pki, tls_server):
    srv = tls_server("good")
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    with tls_connect(srv.port, ctx, host=srv.host, server_hostname="localhost") as tls:
        assert tls.recv(16) == b"OK\n"


def test_issue_cert_helper(pki, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = issue_cert(
        pki.ca,
        "extra.test",
        ["extra.test"],
        ["127.0.0.2"],
        not_before=now - datetime.timedelta(hours=1),
        not_after=now + datetime.timedelta(days=2),
        directory=tmp_path,
        name="extra",
    )
    assert leaf.cert_path == tmp_path / "extra.pem" and leaf.key_path.exists()
    assert _openssl_verify(pki.ca.cert_path, leaf.cert_path, "sslserver").returncode == 0
    client = issue_cert(pki.other_ca, "someone", is_client=True, directory=tmp_path)
    assert _openssl_verify(pki.other_ca.cert_path, client.cert_path, "sslclient").returncode == 0


# ---------------------------------------------------------------------------
# plain TLS server
# ---------------------------------------------------------------------------


def test_tls_server_roundtrip(pki, tls_server):
    srv = tls_server("good")
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    with tls_connect(srv.port, ctx) as tls:
        assert tls.recv(16) == b"OK\n"
        tls.sendall(b"ping\n")
        assert tls.recv(16) == b"ping\n"


def test_tls_server_wronghost_fails_verification(pki, tls_server):
    srv = tls_server("wronghost")
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    with (
        pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"),
        tls_connect(srv.port, ctx),
    ):
        pass


def test_tls_server_requires_client_cert(pki, tls_server):
    srv = tls_server("good", require_client_cert=True)
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    ctx.load_cert_chain(str(pki.client.cert_path), str(pki.client.key_path))
    with tls_connect(srv.port, ctx) as tls:
        assert tls.recv(16) == b"OK\n"
    assert any(h.ok and h.peer_cert for h in srv.handshakes)

    # without a client cert: TLS 1.3 reports the rejection on first read
    ctx2 = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    with pytest.raises((ssl.SSLError, ConnectionResetError)), tls_connect(srv.port, ctx2) as tls:
        tls.recv(16)


def test_tls_server_ipv6(pki, tls_server, has_ipv6):
    if not has_ipv6:
        pytest.skip("no ::1 on this machine")
    srv = tls_server("good", host="::1")
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    with tls_connect(srv.port, ctx, host="::1") as tls:
        assert tls.recv(16) == b"OK\n"


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def _pg_connect(server, pki, **kw):
    params = server.conninfo(
        sslmode="verify-full", sslrootcert=str(pki.ca.cert_path), connect_timeout=10
    )
    params.update(kw)
    return psycopg.connect(**params)


def test_pg_verify_full(pg, pki):
    with _pg_connect(pg.good, pki) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone() == (True,)
        assert conn.info.dbname == "defaultdb"


def test_pg_ipv6(pg, pki, has_ipv6):
    if not has_ipv6:
        pytest.skip("no ::1 on this machine")
    with _pg_connect(pg.good, pki, host="::1") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_pg_wronghost_fails(pg, pki):
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        _pg_connect(pg.wronghost, pki).close()


def test_pg_expired_and_othersigned_fail(pg, pki):
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        _pg_connect(pg.expired, pki).close()
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        _pg_connect(pg.othersigned, pki).close()


def test_pg_dnsonly_by_ip_fails(pg, pki):
    server = pg.dnsonly
    with _pg_connect(server, pki) as conn:  # by name: fine
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        _pg_connect(server, pki, host="127.0.0.1").close()


def test_pg_client_cert_auth(pg, pki):
    server = pg.good
    with _pg_connect(
        server,
        pki,
        user="avnadmin",
        sslcert=str(pki.client.cert_path),
        sslkey=str(pki.client.key_path),
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("avnadmin",)
    # encrypted key + password
    with _pg_connect(
        server,
        pki,
        user="avnadmin",
        sslcert=str(pki.client.cert_path),
        sslkey=str(pki.client_key_encrypted_path),
        sslpassword=pki.client_key_password,
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # no client cert -> cert auth fails
    with pytest.raises(psycopg.OperationalError, match="certificate"):
        _pg_connect(server, pki, user="avnadmin").close()
    # client cert from another CA -> rejected: the server's log says it refused it
    tail = LogTail(server.log_path)
    with pytest.raises(psycopg.OperationalError, match="alert unknown ca"):
        _pg_connect(
            server,
            pki,
            user="avnadmin",
            sslcert=str(pki.other_client.cert_path),
            sslkey=str(pki.other_client.key_path),
        ).close()
    deadline = time.monotonic() + 3
    while Why.CLIENT_CERT_REFUSED not in server_reasons(tail.lines()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert_refused(Why.CLIENT_CERT_REFUSED, server=tail.lines())


def test_pg_rejects_plaintext_on_ssl_instance(pg):
    with pytest.raises(psycopg.OperationalError, match=r"no encryption|SSL off"):
        psycopg.connect(**pg.good.conninfo(sslmode="disable", connect_timeout=10)).close()


def test_pg_plaintext_instance(pg, pki):
    server = pg.plaintext
    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        psycopg.connect(**server.conninfo(sslmode="require", connect_timeout=10)).close()
    with psycopg.connect(**server.conninfo(sslmode="disable", connect_timeout=10)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


# ---------------------------------------------------------------------------
# Kafka (tansu behind stunnel)
# ---------------------------------------------------------------------------


def _kafka_ssl_kwargs(pki, **over):
    kw = dict(
        security_protocol="SSL",
        ssl_cafile=str(pki.ca.cert_path),
        ssl_certfile=str(pki.client.cert_path),
        ssl_keyfile=str(pki.client.key_path),
    )
    kw.update(over)
    return kw


def test_kafka_produce_consume(kafka, pki):
    from kafka import KafkaConsumer, KafkaProducer

    server = kafka.good
    topic = f"infra-{uuid.uuid4().hex[:8]}"
    payload = b"hello over tls"
    producer = KafkaProducer(
        bootstrap_servers=server.bootstrap, request_timeout_ms=15000, **_kafka_ssl_kwargs(pki)
    )
    try:
        meta = producer.send(topic, payload).get(timeout=30)
        assert meta.topic == topic
        producer.flush(10)
    finally:
        producer.close(timeout=5)

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=server.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10000,
        **_kafka_ssl_kwargs(pki),
    )
    values = []
    try:
        for message in consumer:  # stops after consumer_timeout_ms without data
            values.append(message.value)
            if message.value == payload:
                break
    finally:
        consumer.close()
    assert payload in values, server.logs()


@pytest.mark.parametrize("name", ["wronghost", "expired", "othersigned"])
def test_kafka_bad_frontends_fail_handshake(kafka, pki, name):
    server = kafka[name]
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    ctx.load_cert_chain(str(pki.client.cert_path), str(pki.client.key_path))
    with pytest.raises(ssl.SSLCertVerificationError), tls_connect(server.port, ctx):
        pass


def test_kafka_python_wronghost(kafka, pki):
    """kafka-python: verification fails; without hostname check the same front-end works."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    server = kafka.wronghost
    # kafka-python 3.x: the constructor bootstraps and gives up after bootstrap_timeout_ms
    # (kafka-python leaks sockets of failed handshakes; the exception's
    # traceback keeps them alive, so don't hold it past the except block)
    with quiet_resource_leaks():
        try:
            KafkaProducer(
                bootstrap_servers=server.bootstrap,
                bootstrap_timeout_ms=2000,
                **_kafka_ssl_kwargs(pki),
            )
        except KafkaTimeoutError as exc:
            assert "Unable to bootstrap" in str(exc)
        else:
            pytest.fail("KafkaProducer bootstrapped against the wronghost front-end")
    # each front-end has its own tansu advertising that front-end, so an
    # unchecked-hostname client keeps talking to the wronghost certificate
    producer = KafkaProducer(
        bootstrap_servers=server.bootstrap,
        request_timeout_ms=15000,
        **_kafka_ssl_kwargs(pki, ssl_check_hostname=False),
    )
    try:
        producer.send("wronghost-topic", b"x").get(timeout=30)
    finally:
        producer.close(timeout=5)


def test_kafka_frontend_requires_client_cert(kafka, pki):
    server = kafka.good
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert_path))
    with pytest.raises((ssl.SSLError, ConnectionError)), tls_connect(server.port, ctx) as tls:
        tls.sendall(b"\x00\x00\x00\x00")
        if not tls.recv(16):
            raise ConnectionError("closed without data")
