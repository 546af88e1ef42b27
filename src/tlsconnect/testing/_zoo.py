"""A certificate zoo: the shapes of certificates and keys on which clients disagree.

libpq and Python's ``ssl`` do not match host names alike (libpq falls back to the
common name when a certificate has no DNS name, and compares an IP address as text with
a DNS name or the common name; Python's ``ssl`` does neither), and drivers differ in
the key formats they read. :func:`make_zoo` issues one certificate or key of each shape
under a root CA and an intermediate, so that a test can hold each client's verdict to
what the client really does:

* servers (issued by the intermediate; ``<name>.pem`` holds the leaf, ``<name>-chain.pem``
  the leaf and the intermediate, as a server sends them):

  - ``cn_only``: ``CN=localhost``, no subjectAltName
  - ``cn_ip``: ``CN=127.0.0.1``, no subjectAltName
  - ``dns_wildcard``: DNS names ``db.example.test``, ``*.example.test`` and ``localhost``
  - ``ip_sans``: IP addresses ``127.0.0.1`` and ``::1`` only
  - ``ip_in_dns``: the DNS name ``127.0.0.1`` (an address written where a name belongs)
  - ``no_name``: neither subjectAltName nor a common name that names a host
* clients: ``client`` (``CN=avnadmin``, issued by the intermediate, with
  ``client-chain.pem``) and its key as PEM, DER, encrypted PEM and encrypted DER
  (PKCS#8; the password is :data:`~tlsconnect.testing.CLIENT_KEY_PASSWORD`).

Trust the root (:attr:`Zoo.root`) to verify any of them.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization

from ._pki import (
    CA,
    CLIENT_COMMON_NAME,
    CLIENT_KEY_PASSWORD,
    Issued,
    KeyType,
    cert_pem,
    issue_cert,
    make_ca,
    write_file,
)

__all__ = ["ZOO_SERVERS", "Zoo", "make_zoo"]

# name -> (common name, DNS names, IP addresses): the server shapes of the zoo
ZOO_SERVERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "cn_only": ("localhost", (), ()),
    "cn_ip": ("127.0.0.1", (), ()),
    "dns_wildcard": ("db.example.test", ("db.example.test", "*.example.test", "localhost"), ()),
    "ip_sans": ("zoo ip server", (), ("127.0.0.1", "::1")),
    "ip_in_dns": ("zoo ip-in-dns server", ("127.0.0.1",), ()),
    "no_name": ("zoo server without a host name", (), ()),
}


@dataclass
class Zoo:
    """What :func:`make_zoo` produced. All paths are absolute."""

    directory: pathlib.Path
    root: CA  # root.pem: the one anchor to trust
    intermediate: CA  # intermediate.pem: issues every leaf below
    servers: dict[str, Issued] = field(default_factory=dict)
    server_chains: dict[str, pathlib.Path] = field(default_factory=dict)
    client: Issued | None = None
    client_chain: pathlib.Path | None = None
    # the client key in each form: "pem", "der", "pem-encrypted", "der-encrypted"
    client_keys: dict[str, pathlib.Path] = field(default_factory=dict)
    client_key_password: str = CLIENT_KEY_PASSWORD

    def __repr__(self) -> str:
        return f"Zoo({str(self.directory)!r}, servers={sorted(self.servers)})"

    def server_pair(self, name: str) -> tuple[pathlib.Path, pathlib.Path]:
        """``(chain_path, key_path)`` of server ``name``: what a server is started with,
        sending its intermediate with its leaf."""
        return (self.server_chains[name], self.servers[name].key_path)


def _key_bytes(issued: Issued, encoding: serialization.Encoding, password: str | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if password is None
        else serialization.BestAvailableEncryption(password.encode())
    )
    return issued.key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, encryption)


def make_zoo(directory: str | os.PathLike[str], *, key_type: KeyType = "ec") -> Zoo:
    """Issue the zoo into ``directory`` (created if needed). Keys are P-256 EC by default
    (fast to make; every client here reads them)."""
    directory = pathlib.Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    root = make_ca(directory, "root", "Zoo Root CA", key_type=key_type)
    intermediate = make_ca(
        directory, "intermediate", "Zoo Intermediate CA", key_type=key_type, issuer=root
    )
    zoo = Zoo(directory=directory, root=root, intermediate=intermediate)
    for name, (common_name, dns, ips) in ZOO_SERVERS.items():
        leaf = issue_cert(
            intermediate,
            common_name,
            dns,
            ips,
            directory=directory,
            name=name,
            key_type=key_type,
            require_names=False,
        )
        zoo.servers[name] = leaf
        zoo.server_chains[name] = write_file(
            directory / f"{name}-chain.pem", leaf.cert_pem + intermediate.cert_pem
        )
    client = issue_cert(
        intermediate,
        CLIENT_COMMON_NAME,
        is_client=True,
        directory=directory,
        name="client",
        key_type=key_type,
    )
    zoo.client = client
    zoo.client_chain = write_file(
        directory / "client-chain.pem", cert_pem(client.cert) + intermediate.cert_pem
    )
    forms = {
        "pem": (serialization.Encoding.PEM, None, "client.key"),
        "der": (serialization.Encoding.DER, None, "client-key.der"),
        "pem-encrypted": (serialization.Encoding.PEM, zoo.client_key_password, "client-enc.key"),
        "der-encrypted": (
            serialization.Encoding.DER,
            zoo.client_key_password,
            "client-enc-key.der",
        ),
    }
    for form, (encoding, password, filename) in forms.items():
        zoo.client_keys[form] = write_file(
            directory / filename, _key_bytes(client, encoding, password), 0o600
        )
    return zoo
