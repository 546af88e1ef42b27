"""A throw-away project PKI, generated with ``cryptography``.

What a managed-service project hands out, plus the broken variants a client must
refuse: a project CA, server certificates (good, for the wrong host, expired, not yet
valid, signed by another CA, DNS names only), client certificates, an encrypted client
key, and a credentials directory laid out like ``avn service user-creds-download``.

Every certificate passes OpenSSL 3's ``X509_V_FLAG_X509_STRICT`` (which Python 3.13+
enables by default through ``ssl.VERIFY_X509_STRICT``):

* CAs:    BasicConstraints(ca=True) critical, KeyUsage(keyCertSign, cRLSign)
          critical, SubjectKeyIdentifier, AuthorityKeyIdentifier.
* Leaves: BasicConstraints(ca=False) critical, KeyUsage critical,
          ExtendedKeyUsage (serverAuth or clientAuth), SubjectKeyIdentifier,
          AuthorityKeyIdentifier, SubjectAlternativeName (server leaves; client
          leaves only when names are given).

Keys are RSA 2048 by default (what every server and client handles) or P-256 EC
(``key_type="ec"``, generated in a fraction of the time); private keys are written as
PKCS#8 PEM with mode 0600, created with that mode so they are never readable by others.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pathlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA",
    "CLIENT_COMMON_NAME",
    "CLIENT_KEY_PASSWORD",
    "PKI",
    "Issued",
    "KeyType",
    "PrivateKey",
    "ca_key_usage",
    "cert_pem",
    "issue_cert",
    "key_pem",
    "leaf_key_usage",
    "make_ca",
    "make_pki",
    "new_key",
    "utc_now",
    "write_file",
]

CLIENT_KEY_PASSWORD = "s3cret"
CLIENT_COMMON_NAME = "avnadmin"
ORGANIZATION = "tlsconnect tests"

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyType: TypeAlias = Literal["rsa", "ec"]

_LOCALHOST_DNS = ("localhost",)
_LOCALHOST_IPS = ("127.0.0.1", "::1")


def utc_now() -> datetime.datetime:
    """Now, in UTC, to the second (certificates carry no fractions)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def new_key(key_type: KeyType = "rsa", bits: int = 2048) -> PrivateKey:
    """A fresh private key: RSA of ``bits`` bits, or EC on P-256."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type != "rsa":
        raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_pem(key: PrivateKey, password: str | None = None) -> bytes:
    """PKCS#8 PEM of ``key``, encrypted with ``password`` when one is given."""
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


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def write_file(path: pathlib.Path, data: bytes, mode: int = 0o644) -> pathlib.Path:
    """Write ``data`` to ``path`` (parents created) with ``mode``, returning ``path``.

    The file is created with ``mode`` from the start, so a key is never readable by
    others, not even for a moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)  # O_CREAT's mode is filtered by the umask, and ignored if it existed
    return path


def ca_key_usage() -> x509.KeyUsage:
    """KeyUsage of a CA: keyCertSign and cRLSign (and digitalSignature)."""
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


def leaf_key_usage(client: bool, key: PrivateKey | None = None) -> x509.KeyUsage:
    """KeyUsage of a leaf: digitalSignature, plus keyEncipherment for an RSA server key
    (RSA key exchange; an EC key never encrypts)."""
    is_rsa = key is None or isinstance(key, rsa.RSAPrivateKey)
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not client and is_rsa,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str, organization: str | None) -> x509.Name:
    attributes = []
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


@dataclass(repr=False)
class CA:
    """A certificate authority: its certificate and key, and their PEM files."""

    name: str
    cert: x509.Certificate
    key: PrivateKey
    cert_path: pathlib.Path
    key_path: pathlib.Path

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def common_name(self) -> str:
        return str(self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def __repr__(self) -> str:
        return f"CA({self.name!r}, CN={self.common_name!r}, cert_path='{self.cert_path}')"


@dataclass(repr=False)
class Issued:
    """A leaf certificate and its key, issued by a :class:`CA`, and their PEM files."""

    name: str
    cert: x509.Certificate
    key: PrivateKey
    cert_path: pathlib.Path
    key_path: pathlib.Path
    issuer: CA

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)

    @property
    def common_name(self) -> str:
        return str(self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    @property
    def serial_number(self) -> int:
        """What a server records of the client certificate it was shown."""
        return self.cert.serial_number

    @property
    def pair(self) -> tuple[pathlib.Path, pathlib.Path]:
        """``(cert_path, key_path)``, what a server is started with."""
        return (self.cert_path, self.key_path)

    def __repr__(self) -> str:
        return (
            f"Issued({self.name!r}, CN={self.common_name!r}, issuer={self.issuer.name!r}, "
            f"cert_path='{self.cert_path}')"
        )


@dataclass(repr=False)
class PKI:
    """Everything :func:`make_pki` produced. All paths are absolute."""

    directory: pathlib.Path
    ca: CA  # the project CA                      -> ca.pem / ca.key
    other_ca: CA  # another project's CA          -> other-ca.pem / other-ca.key
    server: Issued  # localhost, 127.0.0.1, ::1   -> server.pem / server.key
    wronghost: Issued  # wrong.example.com only   -> wronghost.pem / .key
    expired: Issued  # localhost/IPs, expired     -> expired.pem / .key
    othersigned: Issued  # localhost/IPs, by other CA  -> othersigned.pem / .key
    dnsonly: Issued  # DNS:localhost only (no IP SAN)  -> dnsonly.pem / .key
    client: Issued  # CN=avnadmin, project CA     -> client.pem / client.key
    other_client: Issued  # CN=avnadmin, other CA -> other-client.pem / .key
    client_key_encrypted_path: pathlib.Path  # the client key, PKCS#8 encrypted
    client_key_password: str  # its password
    creds_dir: pathlib.Path  # ca.pem, service.cert, service.key
    notyetvalid: Issued | None = None  # localhost/IPs, valid from 30 days on
    key_type: KeyType = "rsa"
    extra: dict[str, Issued] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One short line: where it lives, its key type and what it holds (each part has its
        own repr; the client key's password is never shown)."""
        leaves = len(self.server_pairs) + 2 + len(self.extra)  # + the two client certificates
        return (
            f"PKI('{self.directory}', key_type={self.key_type!r}, "
            f"ca={self.ca.common_name!r}, {leaves} leaf certificates)"
        )

    # -- convenience shortcuts ---------------------------------------------
    @property
    def ca_pem(self) -> pathlib.Path:
        return self.ca.cert_path

    @property
    def other_ca_pem(self) -> pathlib.Path:
        return self.other_ca.cert_path

    @property
    def server_pairs(self) -> dict[str, Issued]:
        """Server leaves by the name of the server instance that presents them."""
        pairs = {
            "good": self.server,
            "wronghost": self.wronghost,
            "expired": self.expired,
            "othersigned": self.othersigned,
            "dnsonly": self.dnsonly,
        }
        if self.notyetvalid is not None:
            pairs["notyetvalid"] = self.notyetvalid
        return pairs

    def server_certs(self) -> dict[str, tuple[pathlib.Path, pathlib.Path]]:
        """``{name: (cert_path, key_path)}`` of :attr:`server_pairs`: what the farms take."""
        return {name: leaf.pair for name, leaf in self.server_pairs.items()}

    def issue_cert(
        self,
        name: str,
        common_name: str | None = None,
        dns_names: Iterable[str] = (),
        ip_addresses: Iterable[str] = (),
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        is_client: bool = False,
        *,
        issuer: CA | None = None,
        key: PrivateKey | None = None,
        key_type: KeyType | None = None,
    ) -> Issued:
        """:func:`issue_cert` into this PKI's directory as ``<name>.pem``/``<name>.key``.

        The issuer defaults to the project CA, the common name to ``name`` and the key
        type to this PKI's. The result is also kept in :attr:`extra`.
        """
        issued = issue_cert(
            issuer or self.ca,
            common_name or name,
            dns_names,
            ip_addresses,
            not_before,
            not_after,
            is_client,
            directory=self.directory,
            name=name,
            key=key,
            key_type=key_type or self.key_type,
        )
        self.extra[name] = issued
        return issued


def make_ca(
    directory: pathlib.Path,
    name: str,
    common_name: str,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    key: PrivateKey | None = None,
    key_type: KeyType = "rsa",
    organization: str | None = ORGANIZATION,
    issuer: CA | None = None,
) -> CA:
    """A CA written as ``<name>.pem`` / ``<name>.key`` in ``directory``: a self-signed
    root, or with ``issuer`` an intermediate CA that ``issuer`` signs (path length 0: it
    issues leaves only).

    Validity defaults to [now - 365 days, now + 3650 days].
    """
    now = utc_now()
    not_before = not_before or now - datetime.timedelta(days=365)
    not_after = not_after or now + datetime.timedelta(days=3650)
    key = key or new_key(key_type)
    subject = _name(common_name, organization)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    signer_key: PrivateKey = key if issuer is None else issuer.key
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0),
            critical=True,
        )
        .add_extension(ca_key_usage(), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
        .sign(signer_key, hashes.SHA256())
    )
    directory = pathlib.Path(directory)
    cert_path = write_file(directory / f"{name}.pem", cert_pem(cert))
    key_path = write_file(directory / f"{name}.key", key_pem(key), 0o600)
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
    key: PrivateKey | None = None,
    key_type: KeyType = "rsa",
    organization: str | None = ORGANIZATION,
    require_names: bool = True,
) -> Issued:
    """Issue a leaf certificate and write ``<name>.pem`` / ``<name>.key``.

    ``directory`` defaults to the directory holding the issuer's certificate, ``name``
    to ``common_name``, ``key`` to a new key of ``key_type``. Server leaves
    (``is_client=False``) get EKU serverAuth and need at least one DNS name or IP
    address (``require_names=False`` allows a server leaf with no subjectAltName at all,
    named only in its common name, as old servers are); client leaves get EKU clientAuth.
    Validity defaults to [now - 1 day, now + 365 days].
    """
    now = utc_now()
    not_before = not_before or now - datetime.timedelta(days=1)
    not_after = not_after or now + datetime.timedelta(days=365)
    directory = pathlib.Path(directory) if directory is not None else issuer.cert_path.parent
    name = name or common_name
    key = key or new_key(key_type)
    dns = list(dns_names)
    ips = [ipaddress.ip_address(ip) for ip in ip_addresses]

    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(leaf_key_usage(is_client, key), critical=True)
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
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ip) for ip in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    elif not is_client and require_names:
        raise ValueError("server certificates need at least one DNS name or IP address")
    cert = builder.sign(issuer.key, hashes.SHA256())

    cert_path = write_file(directory / f"{name}.pem", cert_pem(cert))
    key_path = write_file(directory / f"{name}.key", key_pem(key), 0o600)
    return Issued(
        name=name, cert=cert, key=key, cert_path=cert_path, key_path=key_path, issuer=issuer
    )


def make_pki(
    directory: str | os.PathLike[str],
    *,
    key_type: KeyType = "rsa",
    ca_common_name: str = "Test Project CA",
    other_ca_common_name: str = "Other Project CA",
    organization: str | None = ORGANIZATION,
    client_common_name: str = CLIENT_COMMON_NAME,
    client_key_password: str = CLIENT_KEY_PASSWORD,
) -> PKI:
    """Generate a whole project PKI into ``directory`` (created if needed).

    Server certificates name ``localhost``, ``127.0.0.1`` and ``::1`` (except
    ``wronghost``: ``wrong.example.com`` only, and ``dnsonly``: ``localhost`` only);
    client certificates are ``CN=avnadmin``, like a managed service's admin user.
    """
    directory = pathlib.Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    now = utc_now()

    ca = make_ca(directory, "ca", ca_common_name, key_type=key_type, organization=organization)
    other_ca = make_ca(
        directory, "other-ca", other_ca_common_name, key_type=key_type, organization=organization
    )

    def server(
        name: str,
        issuer: CA,
        dns: Sequence[str],
        ips: Sequence[str],
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> Issued:
        return issue_cert(
            issuer,
            "localhost" if "localhost" in dns else dns[0],
            dns,
            ips,
            not_before,
            not_after,
            directory=directory,
            name=name,
            key_type=key_type,
            organization=organization,
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
    notyetvalid = server(
        "notyetvalid",
        ca,
        _LOCALHOST_DNS,
        _LOCALHOST_IPS,
        not_before=now + datetime.timedelta(days=30),
        not_after=now + datetime.timedelta(days=400),
    )
    othersigned = server("othersigned", other_ca, _LOCALHOST_DNS, _LOCALHOST_IPS)
    dnsonly = server("dnsonly", ca, _LOCALHOST_DNS, ())

    def client_of(issuer: CA, name: str) -> Issued:
        return issue_cert(
            issuer,
            client_common_name,
            is_client=True,
            directory=directory,
            name=name,
            key_type=key_type,
            organization=organization,
        )

    client = client_of(ca, "client")
    enc_path = write_file(
        directory / "client-encrypted.key", key_pem(client.key, client_key_password), 0o600
    )
    other_client = client_of(other_ca, "other-client")

    # the layout `avn service user-creds-download` writes; 0700 as it holds a key
    creds = directory / "creds"
    creds.mkdir(mode=0o700, exist_ok=True)
    write_file(creds / "ca.pem", ca.cert_pem)
    write_file(creds / "service.cert", client.cert_pem)
    write_file(creds / "service.key", client.key_pem, 0o600)

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
        client_key_password=client_key_password,
        creds_dir=creds,
        notyetvalid=notyetvalid,
        key_type=key_type,
    )
