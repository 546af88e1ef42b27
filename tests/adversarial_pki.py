"""A PKI shaped like a real one, for the adversarial certificate tests.

The root is the session's project CA (``pki.ca``, from ``tlsconnect.testing``), so that PostgreSQL (``ssl_ca_file``)
and stunnel, which trust that CA for client certificates, also accept client
certificates issued by its client intermediate. Below it::

    Test Project CA (root, the session CA)
    ├── Server Intermediate CA (pathlen 0)   -> server leaves (EKU serverAuth)
    ├── Client Intermediate CA (pathlen 0)   -> client leaves (EKU clientAuth, CN=avnadmin)
    ├── Expired Server Intermediate CA       -> a valid leaf below an expired CA
    └── Future Server Intermediate CA        -> a valid leaf below a not-yet-valid CA
    Untrusted Root CA -> Untrusted Intermediate CA -> server and client leaves
    Rollover Root CA: one key, two certificates (expired, valid) -> a server leaf
    Retired Project CA: an unrelated CA that has expired

Every certificate carries AKI/SKI, BasicConstraints and KeyUsage (critical), and leaves
carry EKU and (unless a case is about their absence) SAN. Each server credential is
written as ``<name>.pem`` (the leaf alone), ``<name>-chain.pem`` (the leaf followed by its
intermediates, what a server sends) and ``<name>.key``.
"""

from __future__ import annotations

import datetime
import ipaddress
import pathlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsconnect.testing import (
    CA,
    ca_key_usage,
    cert_pem,
    key_pem,
    leaf_key_usage,
    new_key,
    utc_now,
    write_file,
)

DAY = datetime.timedelta(days=1)


def _name(common_name: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsconnect adversarial")]
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


@dataclass
class Authority:
    """A CA (root or intermediate) and the chain above it (excluding the root)."""

    name: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: pathlib.Path
    parents: list[x509.Certificate] = field(default_factory=list)  # intermediates above

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)


@dataclass
class Leaf:
    """A leaf certificate and what a peer sends: itself plus its intermediates."""

    name: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: pathlib.Path  # the leaf alone
    chain_path: pathlib.Path  # leaf + intermediates
    key_path: pathlib.Path

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)


def make_authority(
    directory: pathlib.Path,
    name: str,
    common_name: str,
    *,
    parent: Authority | None = None,
    key: rsa.RSAPrivateKey | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    path_length: int | None = None,
) -> Authority:
    """A root (``parent=None``) or an intermediate signed by ``parent``."""
    now = utc_now()
    key = key or new_key("rsa")
    subject = _name(common_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    issuer_key = parent.key if parent else key
    issuer_name = parent.cert.subject if parent else subject
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - 30 * DAY)
        .not_valid_after(not_after or now + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(ca_key_usage(), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    path = write_file(directory / f"{name}.pem", cert_pem(cert))
    parents: list[x509.Certificate] = []
    if parent is not None and parent.cert.issuer != parent.cert.subject:
        parents = [parent.cert, *parent.parents]  # a peer never sends the root
    return Authority(name, cert, key, path, parents)


def authority_from(ca: CA) -> Authority:
    """Wrap a root of the project PKI (``tlsconnect.testing.CA``)."""
    return Authority(ca.name, ca.cert, ca.key, ca.cert_path, [])


def make_leaf(
    directory: pathlib.Path,
    name: str,
    issuer: Authority | None,
    *,
    common_name: str | None = "db.example.test",
    dns: Sequence[str] = (),
    ips: Sequence[str] = (),
    client: bool = False,
    bits: int = 2048,
    algorithm: hashes.HashAlgorithm | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Leaf:
    """A leaf issued by ``issuer``, or self-signed when ``issuer`` is ``None``."""
    now = utc_now()
    key = new_key("rsa", bits)
    subject = _name(common_name)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - DAY)
        .not_valid_after(not_after or now + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(leaf_key_usage(client), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if isinstance(algorithm, hashes.SHA1):
        cert = _sign_with_sha1(directory, name, builder, signer_key)
    else:
        cert = builder.sign(signer_key, algorithm or hashes.SHA256())
    chain = [cert]
    if issuer is not None and issuer.cert.issuer != issuer.cert.subject:
        chain += [issuer.cert, *issuer.parents]
    cert_path = write_file(directory / f"{name}.pem", cert_pem(cert))
    chain_path = write_file(directory / f"{name}-chain.pem", b"".join(cert_pem(c) for c in chain))
    key_path = write_file(directory / f"{name}.key", key_pem(key), 0o600)
    return Leaf(name, cert, key, cert_path, chain_path, key_path)


def _sign_with_sha1(
    directory: pathlib.Path,
    name: str,
    builder: x509.CertificateBuilder,
    signer_key: rsa.RSAPrivateKey,
) -> x509.Certificate:
    """Re-sign ``builder``'s certificate with SHA-1, which ``cryptography`` refuses to do:
    the openssl command line signs the same to-be-signed content with sha1WithRSA."""
    draft = builder.sign(signer_key, hashes.SHA256())
    signer = write_file(directory / f".{name}-signer.key", key_pem(signer_key), 0o600)
    ext = directory / f".{name}.ext"
    lines = []
    for extension in draft.extensions:
        value = extension.value
        if isinstance(value, x509.SubjectAlternativeName):
            parts = [f"DNS:{n}" for n in value.get_values_for_type(x509.DNSName)]
            parts += [f"IP:{ip}" for ip in value.get_values_for_type(x509.IPAddress)]
            lines.append("subjectAltName=" + ",".join(parts))
    lines += [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid",
    ]
    ext.write_text("\n".join(lines) + "\n")
    issuer_cert = directory / f".{name}-issuer.pem"
    # the issuer certificate openssl needs: any certificate with the issuer's name and key
    issuer = (
        x509.CertificateBuilder()
        .subject_name(draft.issuer)
        .issuer_name(draft.issuer)
        .public_key(signer_key.public_key())
        .serial_number(1)
        .not_valid_before(draft.not_valid_before_utc)
        .not_valid_after(draft.not_valid_after_utc)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False
        )
        .sign(signer_key, hashes.SHA256())
    )
    issuer_cert.write_bytes(cert_pem(issuer))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(draft.subject)
        .sign(signer_key, hashes.SHA256())
    )
    # the CSR's key is replaced by -force_pubkey with the leaf's real key
    leaf_pub = directory / f".{name}.pub"
    leaf_pub.write_bytes(
        draft.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    csr_path = directory / f".{name}.csr"
    csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    out = directory / f".{name}-sha1.pem"
    subprocess.run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            str(csr_path),
            "-CA",
            str(issuer_cert),
            "-CAkey",
            str(signer),
            "-sha1",
            "-extfile",
            str(ext),
            "-force_pubkey",
            str(leaf_pub),
            "-set_serial",
            str(draft.serial_number),
            "-days",
            "365",
            "-out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    for leftover in (signer, ext, issuer_cert, leaf_pub, csr_path, out):
        leftover.unlink()
    return cert


def bundle(directory: pathlib.Path, name: str, certs: Sequence[x509.Certificate]) -> pathlib.Path:
    """A CA bundle file holding ``certs`` in this order."""
    return write_file(directory / f"{name}.pem", b"".join(cert_pem(c) for c in certs))


SERVER_DNS = ("db.example.test", "localhost")
SERVER_IPS = ("127.0.0.1", "::1")
IDNA_U_LABEL = "bücher.example.test"
IDNA_A_LABEL = "xn--bcher-kva.example.test"


@dataclass
class AdversarialPKI:
    directory: pathlib.Path
    root: Authority
    server_int: Authority
    client_int: Authority
    untrusted_root: Authority
    leaves: dict[str, Leaf]  # server leaves by case name
    clients: dict[str, Leaf]  # client leaves (CN=avnadmin)
    bundles: dict[str, pathlib.Path]  # CA files the client trusts, by name


def make_adversarial_pki(directory: pathlib.Path, root_ca: CA) -> AdversarialPKI:
    directory.mkdir(parents=True, exist_ok=True)
    now = utc_now()
    d = directory
    root = authority_from(root_ca)
    server_int = make_authority(
        d, "server-int", "Server Intermediate CA", parent=root, path_length=0
    )
    client_int = make_authority(
        d, "client-int", "Client Intermediate CA", parent=root, path_length=0
    )
    expired_int = make_authority(
        d,
        "expired-int",
        "Expired Server Intermediate CA",
        parent=root,
        not_before=now - 400 * DAY,
        not_after=now - DAY,
    )
    future_int = make_authority(
        d,
        "future-int",
        "Future Server Intermediate CA",
        parent=root,
        not_before=now + 30 * DAY,
        not_after=now + 400 * DAY,
    )
    untrusted_root = make_authority(d, "untrusted-root", "Untrusted Root CA")
    untrusted_int = make_authority(
        d, "untrusted-int", "Untrusted Intermediate CA", parent=untrusted_root
    )
    rollover_key = new_key("rsa")
    rollover_old = make_authority(
        d,
        "rollover-old",
        "Rollover Root CA",
        key=rollover_key,
        not_before=now - 800 * DAY,
        not_after=now - DAY,
    )
    rollover_new = make_authority(d, "rollover-new", "Rollover Root CA", key=rollover_key)
    retired = make_authority(
        d, "retired", "Retired Project CA", not_before=now - 800 * DAY, not_after=now - DAY
    )

    def server(name: str, issuer: Authority | None = server_int, **kw: object) -> Leaf:
        kw.setdefault("dns", SERVER_DNS)
        kw.setdefault("ips", SERVER_IPS)
        return make_leaf(d, name, issuer, **kw)  # type: ignore[arg-type]

    leaves = {
        "good": server("good"),
        "expired": server("expired", not_before=now - 60 * DAY, not_after=now - DAY),
        "not-yet-valid": server(
            "not-yet-valid", not_before=now + 10 * DAY, not_after=now + 100 * DAY
        ),
        "under-expired-int": server("under-expired-int", expired_int),
        "under-future-int": server("under-future-int", future_int),
        "self-signed": server("self-signed", None),
        "untrusted": server("untrusted", untrusted_int),
        "wildcard": server(
            "wildcard", common_name="*.example.test", dns=("*.example.test",), ips=()
        ),
        "ipv4-only": server("ipv4-only", common_name=None, dns=(), ips=("127.0.0.1",)),
        "ipv6-only": server("ipv6-only", common_name=None, dns=(), ips=("::1",)),
        "cn-only": server("cn-only", common_name="db.example.test", dns=(), ips=()),
        "no-names": server("no-names", common_name=None, dns=(), ips=()),
        "idna": server("idna", common_name=IDNA_A_LABEL, dns=(IDNA_A_LABEL,), ips=()),
        "rollover": server("rollover", rollover_new),
        "rsa-1024": server("rsa-1024", bits=1024),
        "sha1": server("sha1", algorithm=hashes.SHA1()),
    }
    # Rollover: the leaf verifies under either certificate of the same key; only the
    # valid one may be used.
    clients = {
        "via-int": make_leaf(d, "client-via-int", client_int, common_name="avnadmin", client=True),
        "untrusted": make_leaf(
            d, "client-untrusted", untrusted_int, common_name="avnadmin", client=True
        ),
    }
    bundles = {
        "root": bundle(d, "bundle-root", [root.cert]),
        "root+int": bundle(d, "bundle-root-int", [root.cert, server_int.cert]),
        "int-only": bundle(d, "bundle-int-only", [server_int.cert]),
        "untrusted-root": bundle(d, "bundle-untrusted-root", [untrusted_root.cert]),
        "untrusted-then-root": bundle(
            d, "bundle-untrusted-then-root", [untrusted_root.cert, root.cert]
        ),
        "root-then-untrusted": bundle(
            d, "bundle-root-then-untrusted", [root.cert, untrusted_root.cert]
        ),
        "retired+root": bundle(d, "bundle-retired-root", [retired.cert, root.cert]),
        "rollover-old-then-new": bundle(
            d, "bundle-rollover-old-new", [rollover_old.cert, rollover_new.cert]
        ),
        "rollover-new-then-old": bundle(
            d, "bundle-rollover-new-old", [rollover_new.cert, rollover_old.cert]
        ),
        "rollover-old-only": bundle(d, "bundle-rollover-old", [rollover_old.cert]),
        "self-signed-pin": bundle(d, "bundle-self-signed", [leaves["self-signed"].cert]),
    }
    return AdversarialPKI(d, root, server_int, client_int, untrusted_root, leaves, clients, bundles)
