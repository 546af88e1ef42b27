"""Safety and truth (issue 9): each behaviour proven against a real server where one is
involved, each test failing on the code before it.

* No connection that does not verify the server presents the client certificate: not
  the connect-time diagnosis, not `check`'s extra reads.
* The diagnosis never replaces the original verification error, whatever goes wrong in
  it (a certificate the parser refuses, a server that stops answering).
* `check` opens as few connections as it needs, and its booleans are never unknown.
* Rotation never pairs a new certificate with an old key.
* The smaller defects: SASL PLAIN to an unverified server, an encrypted key in a
  credentials directory, warnings that point at the caller, non-UTF-8 key passwords,
  out-of-range ports, warnings lost before an error, the certifi cache checked on use.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import ssl
import threading
import time
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

import tlsconnect
from tlsconnect import (
    CertificateExpiryWarning,
    ConfigError,
    CredentialsSource,
    InsecureConnectionWarning,
)
from tlsconnect._cli import main as cli_main
from tlsconnect._handshake import READ_TIMEOUT

TLS12 = {"context_hook": lambda ctx: setattr(ctx, "maximum_version", ssl.TLSVersion.TLSv1_2)}


def connect(context: ssl.SSLContext, port: int, host: str = "localhost") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.recv(3)


def settled(server, count: int, timeout: float = 5.0) -> list:
    """The server's records once it has seen ``count`` connections (its threads write them)."""
    deadline = time.monotonic() + timeout
    while len(server.handshakes) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # a further, unexpected connection would show up now
    return list(server.handshakes)


def mtls(pki) -> dict:
    return {"ca": pki.ca_pem, "cert": pki.client.cert_path, "key": pki.client.key_path}


# -- 2. the diagnosis never shows the client certificate to an unverified server -------


def test_connect_time_diagnosis_never_presents_the_client_certificate(pki, tls_server):
    # TLS 1.2 with CERT_OPTIONAL: the server records any certificate it is shown.
    server = tls_server("othersigned", client_ca=pki.ca_pem, **TLS12)
    context = tlsconnect.ssl_context("cassandra", trust="project", **mtls(pki))
    with pytest.raises(ssl.SSLCertVerificationError, match="Fix:"):
        connect(context, server.port)
    records = settled(server, 2)
    assert len(records) == 2  # the refused connection and the one that read the certificate
    assert [r.peer_cert for r in records] == [None, None]


@pytest.mark.parametrize("cert", ["othersigned", "wronghost"])
def test_check_never_presents_the_client_certificate_on_its_extra_reads(pki, tls_server, cert):
    server = tls_server(cert, client_ca=pki.ca_pem, **TLS12)
    report = tlsconnect.check(
        f"localhost:{server.port}", service="cassandra", trust="project", **mtls(pki)
    )
    assert not report.ok
    records = settled(server, 2)
    assert len(records) == 2  # the refused handshake and the read of the certificate
    assert [r.peer_cert for r in records] == [None, None]


def test_check_opens_one_extra_connection_and_classifies_once(pki, tls_server):
    server = tls_server("othersigned")
    report = tlsconnect.check(
        f"localhost:{server.port}", service="cassandra", trust="project", ca=pki.ca_pem
    )
    assert report.error_class == "untrusted_issuer"
    assert "Other Project CA" in report.error
    assert len(settled(server, 2)) == 2  # the check and one read (no second diagnosis)


def test_after_a_host_name_mismatch_check_says_whether_the_chain_is_good(pki, tls_server):
    good_chain = tls_server("wronghost")
    report = tlsconnect.check(
        f"localhost:{good_chain.port}", service="cassandra", trust="project", ca=pki.ca_pem
    )
    assert report.error_class == "hostname_mismatch"
    assert report.chain_verified is True and report.hostname_verified is False
    assert "wrong.example.com" in report.error  # the certificate was read on the same trip
    assert len(settled(good_chain, 2)) == 2

    bad_chain = tls_server(
        pki.issue_cert(
            "wrong-and-foreign",
            issuer=pki.other_ca,
            common_name="x",
            dns_names=["wrong.example.com"],
        )
    )
    report = tlsconnect.check(
        f"localhost:{bad_chain.port}", service="cassandra", trust="project", ca=pki.ca_pem
    )
    assert report.chain_verified is False and report.hostname_verified is False


@pytest.mark.parametrize("cert", ["good", "wronghost", "othersigned", "expired"])
def test_check_json_booleans_are_never_null(pki, tls_server, cert, capsys):
    server = tls_server(cert)
    cli_main(
        [
            "check",
            f"localhost:{server.port}",
            "--service",
            "cassandra",
            "--ca",
            str(pki.ca_pem),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data["chain_verified"], bool)
    assert isinstance(data["hostname_verified"], bool)
    assert data["chain_verified"] is (cert in ("good", "wronghost"))


def test_check_of_an_unreachable_server_reports_both_false():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = tlsconnect.check(f"127.0.0.1:{port}", service="redis", timeout=2)
    assert (report.chain_verified, report.hostname_verified) == (False, False)


# -- 2. ... and never replaces the original error --------------------------------------


def hostile_server_cert(pki, tmp_path) -> tuple[str, str]:
    """A server certificate OpenSSL accepts, whose subjectAltName holds a 5-byte IP
    address: cryptography refuses to parse that extension (ValueError)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    dns = b"\x82\x11wrong.example.com"  # [2] dNSName
    bad_ip = b"\x87\x05\x7f\x00\x00\x01\x01"  # [7] iPAddress, 5 bytes
    san = bytes([0x30, len(dns) + len(bad_ip)]) + dns + bad_ip
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile")]))
        .issuer_name(pki.ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, san), critical=False
        )
        .sign(pki.ca.key, hashes.SHA256())
    )
    with pytest.raises(ValueError):
        _ = cert.extensions  # the parser refuses it, as the diagnosis would meet it
    cert_path, key_path = tmp_path / "hostile.pem", tmp_path / "hostile.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_a_certificate_the_parser_refuses_leaves_the_original_error(pki, tls_server, tmp_path):
    server = tls_server(hostile_server_cert(pki, tmp_path))
    context = tlsconnect.ssl_context("postgresql", ca=pki.ca_pem)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        connect(context, server.port)
    assert info.value.verify_code == 62  # host name mismatch, as OpenSSL said it
    assert "Fix:" not in str(info.value)
    report = tlsconnect.check(
        f"localhost:{server.port}", service="cassandra", trust="project", ca=pki.ca_pem
    )
    assert report.error_class == "hostname_mismatch" and not report.ok
    assert any("could not be" in note for note in report.notes)


class StallAfterFirst:
    """A TLS server that completes the first handshake, then accepts connections and never
    answers them (what the diagnosis's extra read meets)."""

    def __init__(self, cert: str, key: str) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        first = True
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if first:
                first = False
                try:
                    with self.context.wrap_socket(conn, server_side=True):
                        pass
                except (OSError, ssl.SSLError):
                    pass
            else:
                self.held.append(conn)

    def stop(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_server_that_stops_answering_leaves_the_original_error_in_bounded_time(pki):
    server = StallAfterFirst(str(pki.othersigned.cert_path), str(pki.othersigned.key_path))
    try:
        context = tlsconnect.ssl_context("redis", ca=pki.ca_pem, trust="project")
        started = time.monotonic()
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            connect(context, server.port)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert "Fix:" not in str(info.value) and "unable to get local issuer" in str(info.value)
    assert elapsed < READ_TIMEOUT * 2 + 1  # connect + handshake, each bounded


# -- 3. rotation never pairs a new certificate with an old key ------------------------


def install(directory, leaf, *, key: bool = True) -> None:
    for source, name, mode in (
        (leaf.cert_path, "service.cert", 0o644),
        (leaf.key_path, "service.key", 0o600),
    ):
        if name == "service.key" and not key:
            continue
        staged = directory / f".{name}.new"
        shutil.copyfile(source, staged)
        os.chmod(staged, mode)
        os.replace(staged, directory / name)


def serial_seen(server, before: int) -> int:
    records = settled(server, before + 1)
    record = records[-1]
    assert record.ok and record.peer_cert, record.error
    return int(record.peer_cert["serialNumber"], 16)


def test_half_written_rotation_presents_the_old_pair_then_the_new(pki, tls_server, tmp_path):
    old = pki.issue_cert("rot-old", common_name="avnadmin", is_client=True)
    new = pki.issue_cert("rot-new", common_name="avnadmin", is_client=True)
    creds = tmp_path / "creds"
    creds.mkdir()
    shutil.copyfile(pki.ca_pem, creds / "ca.pem")
    install(creds, old)
    source = CredentialsSource.from_directory(creds)
    server = tls_server("good", require_client_cert=True)

    def present() -> int:
        before = len(server.handshakes)
        assert connect(source.ssl_context("redis", trust="project"), server.port) == b"OK\n"
        return serial_seen(server, before)

    assert present() == old.cert.serial_number
    install(creds, new, key=False)  # new certificate, old key still there
    assert present() == old.cert.serial_number  # the last good pair, no exception
    cfg = source.confluent_kafka_config("localhost:9092")
    assert cfg["ssl.certificate.pem"] == old.cert_pem.decode()
    report = tlsconnect.check(
        f"localhost:{server.port}",
        service="cassandra",
        credentials=source.current(),
        trust="project",
    )
    assert report.ok, report.error
    install(creds, new)  # the rotation completes
    assert present() == new.cert.serial_number


def test_a_context_loads_the_pair_it_checked_not_the_files_as_they_are_now(
    pki, tls_server, tmp_path
):
    old = pki.issue_cert("snap-old", common_name="avnadmin", is_client=True)
    new = pki.issue_cert("snap-new", common_name="avnadmin", is_client=True)
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    shutil.copyfile(old.cert_path, cert)
    shutil.copyfile(old.key_path, key)
    credentials = tlsconnect.Credentials(ca=pki.ca_pem, cert=cert, key=key)
    shutil.copyfile(new.cert_path, cert)  # the file changes after it was checked
    server = tls_server("good", require_client_cert=True)
    context = tlsconnect.ssl_context("redis", credentials=credentials, trust="project")
    assert connect(context, server.port) == b"OK\n"
    assert serial_seen(server, 0) == old.cert.serial_number


def test_source_from_directory_parses_once(pki, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    soon = pki.issue_cert(
        "soon", common_name="avnadmin", is_client=True, not_after=now + datetime.timedelta(days=5)
    )
    creds = tmp_path / "creds"
    creds.mkdir()
    shutil.copyfile(pki.ca_pem, creds / "ca.pem")
    install(creds, soon)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CredentialsSource.from_directory(creds)
    expiry = [w for w in caught if issubclass(w.category, CertificateExpiryWarning)]
    assert len(expiry) == 1


# -- 4. smaller defects -----------------------------------------------------------------


def test_sasl_plain_to_an_unverified_server_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match="PLAIN.*sslmode='verify-full'"):
        tlsconnect.kafka_python_config(
            "localhost:9092",
            sslmode="require",
            sasl_mechanism="PLAIN",
            sasl_username="u",
            sasl_password="p",
        )


def test_sasl_scram_to_an_unverified_server_warns(pki):
    with pytest.warns(InsecureConnectionWarning) as record:
        tlsconnect.kafka_python_config(
            "localhost:9092", sslmode="require", sasl_username="u", sasl_password="p"
        )
    assert any("SCRAM-SHA-256" in str(w.message) for w in record)


def test_config_reads_an_encrypted_key_in_a_credentials_dir_with_password_env(
    pki, tmp_path, capsys, monkeypatch
):
    creds = tmp_path / "creds"
    shutil.copytree(pki.creds_dir, creds)
    shutil.copyfile(pki.client_key_encrypted_path, creds / "service.key")
    monkeypatch.setenv("KEYPASS", pki.client_key_password)
    argv = [
        "config",
        "--driver",
        "kafka-python",
        "kafka://localhost:9092",
        "--credentials-dir",
        str(creds),
        "--password-env",
        "KEYPASS",
    ]
    # the key's password is never printed: it needs --output-dir for its file
    assert cli_main(argv) == 2
    captured = capsys.readouterr()
    assert "--output-dir" in captured.err
    code = cli_main([*argv, "--output-dir", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert pki.client_key_password not in captured.out + captured.err
    cfg = json.loads(captured.out)
    assert Path(cfg["ssl_keyfile"]).is_file()
    assert Path(cfg["ssl_password_file"]).read_text() == pki.client_key_password


ENTRY_POINTS = {
    "Credentials": lambda pki, ca: tlsconnect.Credentials(ca=ca),
    "Credentials.from_directory": None,
    "resolve": lambda pki, ca: tlsconnect.resolve("redis", ca=ca),
    "ssl_context": lambda pki, ca: tlsconnect.ssl_context("redis", ca=ca),
    "params": lambda pki, ca: tlsconnect.params("psycopg", "host=h", ca=ca),
    "psycopg_params": lambda pki, ca: tlsconnect.psycopg_params("host=h", ca=ca),
    "kafka_python_config": lambda pki, ca: tlsconnect.kafka_python_config(
        "h:1", ca=ca, cert=pki.client.cert_path, key=pki.client.key_path
    ),
    "confluent_kafka_config": lambda pki, ca: tlsconnect.confluent_kafka_config(
        "h:1", ca=ca, cert=pki.client.cert_path, key=pki.client.key_path
    ),
    "aiokafka_config": lambda pki, ca: tlsconnect.aiokafka_config(
        "h:1", ca=ca, cert=pki.client.cert_path, key=pki.client.key_path
    ),
}


@pytest.fixture(scope="module")
def expiring_ca(pki, tmp_path_factory):
    from tlsconnect.testing import make_ca

    now = datetime.datetime.now(datetime.timezone.utc)
    ca = make_ca(
        tmp_path_factory.mktemp("expiring"),
        "expiring",
        "Expiring CA",
        not_after=now + datetime.timedelta(days=3),
    )
    return ca.cert_pem


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_warnings_point_at_the_callers_line(pki, expiring_ca, entry, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if entry == "Credentials.from_directory":
            (tmp_path / "ca.pem").write_bytes(expiring_ca)
            tlsconnect.Credentials.from_directory(tmp_path)
        else:
            ENTRY_POINTS[entry](pki, expiring_ca.decode())
    expiry = [w for w in caught if issubclass(w.category, CertificateExpiryWarning)]
    assert expiry and {w.filename for w in expiry} == {__file__}


def test_insecure_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tlsconnect.params("psycopg", "host=h", sslmode="require")
        tlsconnect.check("localhost:1", service="redis", sslmode="require", timeout=1)
    assert [w.filename for w in caught if w.category is InsecureConnectionWarning] == [__file__]


@pytest.fixture(scope="module")
def non_utf8_key(pki, tmp_path_factory):
    path = tmp_path_factory.mktemp("key") / "k.pem"
    path.write_bytes(
        pki.client.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"\xff\xfe-not-utf8"),
        )
    )
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("driver", ["psycopg", "confluent-kafka"])
def test_a_key_password_that_is_not_utf8_is_a_config_error(pki, non_utf8_key, driver):
    target = "host=h" if driver == "psycopg" else "h:1"
    with pytest.raises(ConfigError, match="not UTF-8"):
        tlsconnect.params(
            driver,
            target,
            ca=pki.ca_pem,
            cert=pki.client.cert_path,
            key=non_utf8_key,
            key_password=b"\xff\xfe-not-utf8",
        )
    # A Python context takes it as bytes: it works there.
    tlsconnect.ssl_context(
        "kafka",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=non_utf8_key,
        key_password=b"\xff\xfe-not-utf8",
    )


@pytest.mark.parametrize(
    "conninfo", ["host=a,b port=5432,70000", "host=a port=65536", "postgresql://a:5432,b:99999/db"]
)
def test_ports_out_of_range_are_refused_everywhere(conninfo):
    with pytest.raises(ConfigError, match="1 to 65535"):
        tlsconnect.psycopg_params(conninfo, sslmode="require")


def test_warnings_before_an_error_in_the_cli_are_still_said(pki, expiring_ca, tmp_path, capsys):
    (tmp_path / "ca.pem").write_bytes(expiring_ca)
    code = cli_main(
        [
            "check",
            "localhost:1",
            "--service",
            "cassandra",
            "--ca",
            str(tmp_path / "ca.pem"),
            "--cert",
            str(pki.client.cert_path),
            "--key",
            str(pki.other_client.key_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "warning:" in err and "Expiring CA" in err
    assert "does not belong to the certificate" in err


def test_inspect_says_certifis_odd_serial_numbers_once_as_a_note(capsys):
    import certifi

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none may escape
        code = cli_main(["inspect", certifi.where()])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("serial number that is not positive") == 1


# -- the certifi cache is checked on use --------------------------------------------------


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    from tlsconnect import _cadir

    root = tmp_path / "cache"
    monkeypatch.setenv(_cadir.CACHE_DIR_ENV, str(root))
    _cadir.forget()
    yield root
    _cadir.forget()


def test_a_certificate_planted_in_the_hashed_directory_is_never_trusted(
    pki, tls_server, cache_root
):
    from tlsconnect import _cadir, _certs

    directory = _cadir.public_trust().capath
    assert directory is not None
    server = tls_server("good")
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(tlsconnect.ssl_context("redis"), server.port)
    # Someone plants the test CA under its hash: a fresh process must not trust it.
    der = pki.ca.cert.public_bytes(serialization.Encoding.DER)
    planted = os.path.join(directory, f"{_certs.subject_hash(der)}.0")
    with open(planted, "wb") as handle:
        handle.write(pki.ca.cert_pem)
    os.chmod(planted, 0o600)
    _cadir.forget()  # as a new process
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(tlsconnect.ssl_context("redis"), server.port)
    assert not os.path.exists(planted)


def test_directories_of_older_certifi_bundles_are_removed_when_unused(cache_root):
    from tlsconnect import _cadir

    cache_root.mkdir(mode=0o700)
    old, recent = cache_root / ("ca-" + "0" * 32), cache_root / ("ca-" + "1" * 32)
    for directory in (old, recent):
        directory.mkdir(mode=0o700)
    stale_pointer = cache_root / ("bundle-" + "2" * 32)
    stale_pointer.write_text(f"{old.name}\n/nonexistent/cacert.pem\n")
    month_ago = time.time() - 40 * 86400
    os.utime(old, (month_ago, month_ago))
    current = _cadir.public_trust().capath
    assert current is not None and os.path.isdir(current)
    assert not old.exists() and not stale_pointer.exists()
    assert recent.exists()  # unreferenced but recently used: a running process may need it
