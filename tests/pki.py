"""Throw-away PKI for the test-suite, generated with ``cryptography``.

Every certificate is built to pass OpenSSL 3's ``X509_V_FLAG_X509_STRICT``
(which Python 3.13+ enables by default via ``ssl.VERIFY_X509_STRICT``):

* CAs:    BasicConstraints(ca=True) critical, KeyUsage(keyCertSign, cRLSign)
          critical, SubjectKeyIdentifier, AuthorityKeyIdentifier.
* Leaves: BasicConstraints(ca=False) critical, KeyUsage critical,
          ExtendedKeyUsage (serverAuth or clientAuth), SubjectKeyIdentifier,
          AuthorityKeyIdentifier, SubjectAlternativeName (server leaves; client
          leaves only when names are given).

All keys are RSA 2048 (what PostgreSQL / stunnel / every client handles);
private keys are written as unencrypted PKCS#8 PEM with mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pathlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_KEY_PASSWORD = "s3cret"
CLIENT_COMMON_NAME = "avnadmin"

_LOCALHOST_DNS = ("localhost",)
_LOCALHOST_IPS = ("127.0.0.1", "::1")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _key_pem(key, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption
    if password is None:
        encryption = serialization.NoEncryption()
    else:
        encryption = serialization.BestAvailableEncryption(password.encode())
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=encryption,
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: pathlib.Path, data: bytes, mode: int = 0o644) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # create with restrictive mode from the start for secrets
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
    return path


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_usage(client: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not client,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class CA:
    """A certificate authority: its certificate/key objects and PEM files."""

    name: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: pathlib.Path
    key_path: pathlib.Path

    @property
    def cert_pem(self) -> bytes:
        return _cert_pem(self.cert)


@dataclass
class Issued:
    """A leaf certificate + key issued by a :class:`CA`."""

    name: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: pathlib.Path
    key_path: pathlib.Path
    issuer: CA

    @property
    def cert_pem(self) -> bytes:
        return _cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)

    @property
    def common_name(self) -> str:
        return self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value  # type: ignore[return-value]


@dataclass
class PKI:
    """Everything ``make_pki`` produced. All paths are absolute."""

    directory: pathlib.Path
    ca: CA  # "Test Project CA"        -> ca.pem / ca.key
    other_ca: CA  # "Other Project CA"  -> other-ca.pem / other-ca.key
    server: Issued  # localhost, 127.0.0.1, ::1        -> server.pem / server.key
    wronghost: Issued  # wrong.example.com only        -> wronghost.pem / .key
    expired: Issued  # localhost/IPs, expired          -> expired.pem / .key
    othersigned: Issued  # localhost/IPs, by other CA  -> othersigned.pem / .key
    dnsonly: Issued  # DNS:localhost only (no IP SAN)  -> dnsonly.pem / .key
    client: Issued  # CN=avnadmin, project CA          -> client.pem / client.key
    other_client: Issued  # CN=avnadmin, other CA      -> other-client.pem / .key
    client_key_encrypted_path: pathlib.Path  # client key, PKCS#8 encrypted
    client_key_password: str  # "s3cret"
    creds_dir: pathlib.Path  # ca.pem, service.cert, service.key
    extra: dict[str, Issued] = field(default_factory=dict)

    # -- convenience shortcuts ---------------------------------------------
    @property
    def ca_pem(self) -> pathlib.Path:
        return self.ca.cert_path

    @property
    def other_ca_pem(self) -> pathlib.Path:
        return self.other_ca.cert_path

    @property
    def server_pairs(self) -> dict[str, Issued]:
        """Server leaves by the name used for the server instances."""
        return {
            "good": self.server,
            "wronghost": self.wronghost,
            "expired": self.expired,
            "othersigned": self.othersigned,
            "dnsonly": self.dnsonly,
        }

    def issue_cert(self, name: str, **kwargs) -> Issued:
        """``issue_cert`` into this PKI's directory (issuer defaults to ca)."""
        kwargs.setdefault("issuer", self.ca)
        issued = issue_cert(directory=self.directory, name=name, **kwargs)
        self.extra[name] = issued
        return issued


def make_ca(
    directory: pathlib.Path,
    name: str,
    common_name: str,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> CA:
    now = _now()
    not_before = not_before or now - datetime.timedelta(days=365)
    not_after = not_after or now + datetime.timedelta(days=3650)
    key = _new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsconnect tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            _ca_usage(),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = _write(directory / f"{name}.pem", _cert_pem(cert))
    key_path = _write(directory / f"{name}.key", _key_pem(key), 0o600)
    return CA(name=name, cert=cert, key=key, cert_path=cert_path, key_path=key_path)


def issue_cert(
    issuer: CA,
    common_name: str,
    dns_names: Iterable[str] = (),
    ip_addresses: Iterable[str] = (),
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    is_client: bool = False,
    *,
    directory: pathlib.Path | None = None,
    name: str | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> Issued:
    """Issue a leaf certificate and write ``<name>.pem`` / ``<name>.key``.

    ``directory`` defaults to the directory holding the issuer's certificate,
    ``name`` defaults to ``common_name``. Server leaves (``is_client=False``)
    get EKU serverAuth and KeyUsage digitalSignature+keyEncipherment; client
    leaves get EKU clientAuth and KeyUsage digitalSignature. Validity defaults
    to [now - 1 day, now + 365 days].
    """
    now = _now()
    not_before = not_before or now - datetime.timedelta(days=1)
    not_after = not_after or now + datetime.timedelta(days=365)
    directory = directory or issuer.cert_path.parent
    name = name or common_name
    key = key or _new_key()
    dns_names = list(dns_names)
    ips = [ipaddress.ip_address(ip) for ip in ip_addresses]

    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsconnect tests"),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _leaf_usage(is_client),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if is_client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    sans += [x509.IPAddress(ip) for ip in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    elif not is_client:
        raise ValueError("server certificates need at least one SAN")
    cert = builder.sign(issuer.key, hashes.SHA256())

    cert_path = _write(directory / f"{name}.pem", _cert_pem(cert))
    key_path = _write(directory / f"{name}.key", _key_pem(key), 0o600)
    return Issued(
        name=name, cert=cert, key=key, cert_path=cert_path, key_path=key_path, issuer=issuer
    )


def make_pki(directory: pathlib.Path) -> PKI:
    """Generate the whole test PKI into ``directory`` (created if needed)."""
    directory = pathlib.Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    now = _now()

    ca = make_ca(directory, "ca", "Test Project CA")
    other_ca = make_ca(directory, "other-ca", "Other Project CA")

    def server(name: str, issuer: CA, dns: Sequence[str], ips: Sequence[str], **kw) -> Issued:
        return issue_cert(
            issuer,
            "localhost" if "localhost" in dns else dns[0],
            dns,
            ips,
            directory=directory,
            name=name,
            **kw,
        )

    srv = server("server", ca, _LOCALHOST_DNS, _LOCALHOST_IPS)
    wronghost = server("wronghost", ca, ("wrong.example.com",), ())
    expired = server(
        "expired",
        ca,
        _LOCALHOST_DNS,
        _LOCALHOST_IPS,
        not_before=now - datetime.timedelta(days=60),
        not_after=now - datetime.timedelta(days=1),
    )
    othersigned = server("othersigned", other_ca, _LOCALHOST_DNS, _LOCALHOST_IPS)
    dnsonly = server("dnsonly", ca, _LOCALHOST_DNS, ())

    client = issue_cert(ca, CLIENT_COMMON_NAME, is_client=True, directory=directory, name="client")
    enc_path = _write(
        directory / "client-encrypted.key", _key_pem(client.key, CLIENT_KEY_PASSWORD), 0o600
    )
    other_client = issue_cert(
        other_ca, CLIENT_COMMON_NAME, is_client=True, directory=directory, name="other-client"
    )

    # layout written by `avn service user-creds-download`
    creds = directory / "creds"
    creds.mkdir(exist_ok=True)
    _write(creds / "ca.pem", ca.cert_pem)
    _write(creds / "service.cert", client.cert_pem)
    _write(creds / "service.key", client.key_pem, 0o600)

    return PKI(
        directory=directory,
        ca=ca,
        other_ca=other_ca,
        server=srv,
        wronghost=wronghost,
        expired=expired,
        othersigned=othersigned,
        dnsonly=dnsonly,
        client=client,
        other_client=other_client,
        client_key_encrypted_path=enc_path,
        client_key_password=CLIENT_KEY_PASSWORD,
        creds_dir=creds,
    )
