"""resolve(), TLSPlan and ssl_context(): decisions proven by real handshakes on loopback."""

from __future__ import annotations

import dataclasses
import pathlib
import socket
import ssl
import time

import pytest

import tlsconnect
from refusals import Why, assert_refused, server_reasons
from tlsconnect import ConfigError, Credentials, InsecureConnectionWarning

HOSTS = ["localhost", "127.0.0.1"]


def talk(context: ssl.SSLContext, server, host: str) -> bytes:
    """Handshake with ``server`` as ``host`` and read its greeting (catches TLS 1.3
    client-certificate rejections, which arrive after the handshake)."""
    with socket.create_connection(server.address, timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            data = tls.recv(3)
            if not data:
                raise ConnectionError("the server closed the connection")
            return data


def last_handshake(server, timeout: float = 5.0):
    """The server's record of the last connection (its thread may still be writing it)."""
    deadline = time.monotonic() + timeout
    while not server.handshakes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.handshakes, "the server recorded no connection"
    return server.handshakes[-1]


# -- the context's own settings ----------------------------------------------------


def test_context_has_the_secure_floor(pki):
    ctx = tlsconnect.ssl_context("postgresql", ca=pki.ca_pem)
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.options & ssl.OP_NO_COMPRESSION
    assert ctx.hostname_checks_common_name is False


def test_project_trust_holds_only_the_project_ca(pki):
    ctx = tlsconnect.ssl_context("kafka", ca=pki.ca_pem)
    assert ctx.cert_store_stats()["x509_ca"] == 1
    assert [c["subject"] for c in ctx.get_ca_certs()] == [
        ((("organizationName", "tlsconnect tests"),), (("commonName", "Test Project CA"),))
    ]


def posing_as_issued_by(root_pem: bytes, directory) -> tuple[str, str]:
    """A certificate for localhost that names ``root_pem``'s subject as its issuer but is
    signed by a key of its own: a store holding that root finds the issuer and refuses
    the signature (X509_V_ERR_CERT_SIGNATURE_FAILURE, 7); a store without it cannot find
    the issuer (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 20)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    root = x509.load_pem_x509_certificate(root_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "posing.pem", directory / "posing.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_public_trust_holds_certifi_and_not_the_project_ca(pki, tls_server, tmp_path):
    import certifi

    ctx = tlsconnect.ssl_context("redis", ca=pki.ca_pem, trust="public")
    # certifi's roots are read lazily (a hashed directory): a certificate naming one of
    # them as its issuer shows the store found it (a signature failure, not "no issuer")
    bundle = pathlib.Path(certifi.where()).read_bytes()
    first_root = bundle[: bundle.index(b"-----END CERTIFICATE-----") + 25]
    posing = tls_server(posing_as_issued_by(first_root, tmp_path))
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, posing, "localhost")
    assert info.value.verify_code == 7, info.value
    assert ctx.cert_store_stats()["x509_ca"] >= 1
    # the project CA is not among them
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, tls_server("good"), "localhost")
    assert_refused(Why.UNTRUSTED_ISSUER, exc=info.value)


def test_project_trust_holds_the_project_ca_and_no_public_root(pki, tls_server, tmp_path):
    import certifi

    ctx = tlsconnect.ssl_context("kafka", ca=pki.ca_pem)
    assert talk(ctx, tls_server("good"), "localhost") == b"OK\n"
    # a certificate naming a certifi root as issuer: no such issuer in the store (20),
    # where a store that also held certifi's roots would find it (7)
    bundle = pathlib.Path(certifi.where()).read_bytes()
    first_root = bundle[: bundle.index(b"-----END CERTIFICATE-----") + 25]
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, tls_server(posing_as_issued_by(first_root, tmp_path)), "localhost")
    assert info.value.verify_code == 20, info.value


@pytest.mark.parametrize("host", HOSTS)
def test_public_type_service_handed_a_ca_trusts_both(pki, tls_server, host):
    plan = tlsconnect.resolve("opensearch", ca=pki.ca_pem)
    assert plan.trust == "project+public"
    assert talk(plan.ssl_context(), tls_server("good"), host) == b"OK\n"


# -- verify-full, verify-ca and require against real servers ----------------------


@pytest.mark.parametrize("service", ["postgresql", "kafka", "mysql"])
@pytest.mark.parametrize("host", HOSTS)
def test_verify_full_accepts_the_right_server(pki, tls_server, service, host):
    ctx = tlsconnect.ssl_context(service, ca=pki.ca_pem)
    assert talk(ctx, tls_server("good"), host) == b"OK\n"


@pytest.mark.parametrize("host", HOSTS)
def test_verify_full_rejects_wrong_host_naming_host_and_certificate_names(pki, tls_server, host):
    ctx = tlsconnect.ssl_context("postgresql", ca=pki.ca_pem, sslmode="verify-full")
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, tls_server("wronghost"), host)
    message = str(info.value)
    assert f"'{host}'" in message and "DNS:wrong.example.com" in message
    assert info.value.verify_code in (62, 64)


@pytest.mark.parametrize("sslmode", ["verify-ca", "require"])
def test_verify_ca_and_require_with_ca_accept_the_wrong_host_but_check_the_chain(
    pki, tls_server, sslmode
):
    ctx = tlsconnect.ssl_context("postgresql", ca=pki.ca_pem, sslmode=sslmode)
    assert not ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    assert talk(ctx, tls_server("wronghost"), "localhost") == b"OK\n"
    with pytest.raises(ssl.SSLCertVerificationError):
        talk(ctx, tls_server("othersigned"), "localhost")


def test_connecting_by_ip_to_a_dns_only_certificate_says_ip_is_the_cause(pki, tls_server):
    ctx = tlsconnect.ssl_context("kafka", ca=pki.ca_pem)
    server = tls_server("dnsonly")
    assert talk(ctx, server, "localhost") == b"OK\n"
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, server, "127.0.0.1")
    message = str(info.value)
    assert "'127.0.0.1'" in message and "DNS:localhost" in message
    assert "IP address is the cause" in message


@pytest.mark.parametrize("host", HOSTS)
def test_wrong_ca_is_rejected_naming_the_issuer(pki, tls_server, host):
    ctx = tlsconnect.ssl_context("postgresql", ca=pki.ca_pem, sslmode="verify-ca")
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, tls_server("othersigned"), host)
    assert "Other Project CA" in str(info.value)
    assert "different project's CA" in str(info.value)


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_expired_server_certificate_is_rejected_with_its_dates(pki, tls_server, sslmode):
    ctx = tlsconnect.ssl_context("postgresql", ca=pki.ca_pem, sslmode=sslmode)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, tls_server("expired"), "localhost")
    assert info.value.verify_code == 10
    assert "expired on" in str(info.value) and "renewed" in str(info.value)


def test_public_trust_rejects_a_project_ca_server(pki, tls_server):
    ctx = tlsconnect.ssl_context("clickhouse")
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        talk(ctx, tls_server("good"), "localhost")
    assert "Test Project CA" in str(info.value) and "public CAs" in str(info.value)
    assert "ca.pem" in str(info.value)


def test_system_trust_rejects_a_project_ca_server(pki, tls_server):
    ctx = tlsconnect.ssl_context("grafana", trust="system")
    with pytest.raises(ssl.SSLCertVerificationError):
        talk(ctx, tls_server("good"), "localhost")


@pytest.mark.parametrize("name", ["othersigned", "expired", "wronghost"])
def test_require_without_ca_verifies_nothing_and_warns_loudly(tls_server, name):
    with pytest.warns(InsecureConnectionWarning, match="NOT verified"):
        ctx = tlsconnect.ssl_context("postgresql", sslmode="require")
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    assert talk(ctx, tls_server(name), "localhost") == b"OK\n"


def test_resolve_warns_when_nothing_is_verified():
    with pytest.warns(InsecureConnectionWarning):
        plan = tlsconnect.resolve("pg", sslmode="require")
    assert (plan.trust, plan.verify_chain, plan.check_hostname) == ("none", False, False)
    assert "verifies NOTHING" in plan.explain()


# -- client certificates ----------------------------------------------------------


def test_client_certificate_is_presented_and_accepted(pki, tls_server):
    server = tls_server("good", require_client_cert=True)
    ctx = tlsconnect.ssl_context("kafka", credentials=Credentials.from_directory(pki.creds_dir))
    assert talk(ctx, server, "localhost") == b"OK\n"
    peer = last_handshake(server).peer_cert
    assert peer is not None and ((("commonName", "avnadmin"),) in peer["subject"])


def test_encrypted_client_key_works_in_a_context(pki, tls_server):
    server = tls_server("good", require_client_cert=True)
    ctx = tlsconnect.ssl_context(
        "kafka",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client_key_encrypted_path.read_text(),
        key_password=pki.client_key_password,
    )
    assert talk(ctx, server, "localhost") == b"OK\n"


def test_missing_client_certificate_is_refused_by_the_server(pki, tls_server):
    server = tls_server("good", require_client_cert=True)
    ctx = tlsconnect.ssl_context("kafka", ca=pki.ca_pem)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        talk(ctx, server, "localhost")
    record = last_handshake(server)
    assert not record.ok
    assert_refused(Why.CLIENT_CERT_MISSING, server=[record.error or ""])


def test_client_certificate_from_another_ca_is_refused(pki, tls_server):
    server = tls_server("good", require_client_cert=True)
    ctx = tlsconnect.ssl_context(
        "kafka", ca=pki.ca_pem, cert=pki.other_client.cert_path, key=pki.other_client.key_path
    )
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        talk(ctx, server, "localhost")
    record = last_handshake(server)
    assert not record.ok
    # the server read the certificate and refused it: not "peer did not return a certificate"
    assert_refused(Why.CLIENT_CERT_REFUSED, server=[record.error or ""])
    assert Why.CLIENT_CERT_MISSING not in server_reasons([record.error or ""])


# -- resolve() rules ----------------------------------------------------------------


def test_credentials_together_with_files_is_rejected(pki):
    creds = Credentials(ca=pki.ca_pem)
    with pytest.raises(ConfigError, match="both given"):
        tlsconnect.resolve("kafka", credentials=creds, ca=pki.ca_pem)


def test_project_ca_service_without_ca_says_where_to_get_it():
    with pytest.raises(ConfigError, match="avn service user-creds-download"):
        tlsconnect.resolve("postgresql")


def test_plan_is_immutable_and_explains_itself(pki):
    plan = tlsconnect.resolve("Postgres", ca=pki.ca_pem, sslmode="verify-ca")
    assert (plan.service, plan.sslmode, plan.trust) == ("postgresql", "verify-ca", "project")
    assert plan.verify_chain and not plan.check_hostname and not plan.client_cert
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.sslmode = "require"  # type: ignore[misc]
    text = plan.explain()
    for reason in plan.reasons:
        assert reason in text
    html = plan._repr_html_()
    assert "<table>" in html and "verify-ca" in html and "<script" not in html


def test_plan_repr_and_explain_never_show_key_material(pki):
    plan = tlsconnect.resolve(
        "kafka",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client_key_encrypted_path.read_text(),
        key_password="s3cret",
    )
    secret_line = pki.client_key_encrypted_path.read_text().splitlines()[3]
    for shown in (repr(plan), str(plan), plan.explain(), plan._repr_html_()):
        assert "s3cret" not in shown and secret_line not in shown


def test_a_postgresql_context_explains_failures_of_protocol_drivers_too(pg, pki):
    """Drivers that speak PostgreSQL's protocol over a context (SSLRequest, then TLS)."""
    import struct

    ctx = tlsconnect.ssl_context("postgresql", ca=pki.ca_pem)
    with socket.create_connection(("127.0.0.1", pg.wronghost.port), timeout=5) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))
        assert raw.recv(1) == b"S"
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            ctx.wrap_socket(raw, server_hostname="localhost")
    assert "DNS:wrong.example.com" in str(info.value) and "'localhost'" in str(info.value)


def test_a_contexts_repr_says_what_it_trusts_and_verifies(pki, tls_server):
    public = tlsconnect.ssl_context("redis")
    # The public CAs are read from a CA directory when a handshake needs them: the store
    # counts none of them, and the repr says what it trusts instead.
    assert public.cert_store_stats()["x509_ca"] == 0
    assert repr(public) == (
        "<tlsconnect context: trust=public (certifi, loaded on demand), verify-full, "
        "client cert: no>"
    )
    assert "x509_ca: 0" in tlsconnect.resolve("redis").explain()
    both = tlsconnect.ssl_context("opensearch", ca=pki.ca_pem)
    assert "trust=project+public (1 project CA + certifi, loaded on demand)" in repr(both)
    mutual = tlsconnect.ssl_context("kafka", credentials=Credentials.from_directory(pki.creds_dir))
    assert repr(mutual) == (
        "<tlsconnect context: trust=project (1 project CA), verify-full, client cert: yes>"
    )
    system = tlsconnect.ssl_context("pg", trust="system")
    assert "trust=system (the operating system's store)" in repr(system)
    with pytest.warns(InsecureConnectionWarning):
        nothing = tlsconnect.ssl_context("pg", sslmode="require")
    assert repr(nothing) == "<tlsconnect context: trust=none, verifies NOTHING, client cert: no>"
    # What it verifies is read from the context as it is now: a caller who turns the host
    # name check off sees it, and so does the handshake.
    chain_only = tlsconnect.ssl_context("pg", ca=pki.ca_pem)
    chain_only.check_hostname = False
    assert "verify-ca" in repr(chain_only)
    assert talk(chain_only, tls_server("wronghost"), "localhost")
    with pytest.raises(ssl.SSLCertVerificationError):
        talk(tlsconnect.ssl_context("pg", ca=pki.ca_pem), tls_server("wronghost"), "localhost")
