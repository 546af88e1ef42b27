"""The certificate zoo of tlsconnect.testing: each shape is what its name says, the
chains verify against the root only, and every client key form loads."""

from __future__ import annotations

import ipaddress
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

import tlsconnect
from tlsconnect.testing import ZOO_SERVERS, TLSServer, make_zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory):
    return make_zoo(tmp_path_factory.mktemp("zoo"))


def _names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


@pytest.mark.parametrize("name", sorted(ZOO_SERVERS))
def test_zoo_server_names_are_what_the_table_says(zoo, name):
    common_name, dns, ips = ZOO_SERVERS[name]
    cert = zoo.servers[name].cert
    got_cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert got_cn == common_name
    assert _names(cert) == (list(dns), [str(ipaddress.ip_address(ip)) for ip in ips])
    assert cert.issuer == zoo.intermediate.cert.subject


def _handshake(zoo, name: str, server_hostname: str, cafile) -> None:
    with TLSServer(*zoo.server_pair(name)) as server:
        ctx = ssl.create_default_context(cafile=str(cafile))
        # the floor of every context tlsconnect builds: no common-name fallback, no
        # partial chains
        ctx.hostname_checks_common_name = False
        ctx.verify_flags &= ~ssl.VERIFY_X509_PARTIAL_CHAIN
        with socket.create_connection(server.address, timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
                assert tls.recv(3) == b"OK\n"


def test_zoo_chain_sent_with_its_intermediate_verifies_against_the_root_alone(zoo):
    _handshake(zoo, "dns_wildcard", "db.example.test", zoo.root.cert_path)
    _handshake(zoo, "dns_wildcard", "other.example.test", zoo.root.cert_path)  # the wildcard


def test_zoo_chain_is_refused_by_another_anchor(zoo, tmp_path):
    other = make_zoo(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _handshake(zoo, "dns_wildcard", "db.example.test", other.root.cert_path)
    assert info.value.verify_code == 20  # unable to get local issuer certificate


@pytest.mark.parametrize(
    ("name", "host", "code"),
    [
        ("cn_only", "localhost", 62),  # X509_V_ERR_HOSTNAME_MISMATCH
        ("cn_ip", "127.0.0.1", 64),  # X509_V_ERR_IP_ADDRESS_MISMATCH
        ("ip_in_dns", "127.0.0.1", 64),
    ],
)
def test_zoo_names_python_ssl_refuses_are_refused_for_the_host_name(zoo, name, host, code):
    """The shapes where Python's ssl (under the floor: no common-name fallback) and libpq
    part ways: ssl refuses on the name only, after a good chain."""
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _handshake(zoo, name, host, zoo.root.cert_path)
    assert info.value.verify_code == code


def test_zoo_ip_sans_verify_for_the_address(zoo):
    _handshake(zoo, "ip_sans", "127.0.0.1", zoo.root.cert_path)


@pytest.mark.parametrize("form", ["pem", "der", "pem-encrypted", "der-encrypted"])
def test_zoo_client_key_forms_load_and_match_the_certificate(zoo, form):
    password = zoo.client_key_password if form.endswith("encrypted") else None
    creds = tlsconnect.Credentials(
        ca=zoo.root.cert_path,
        cert=zoo.client_chain,
        key=zoo.client_keys[form],
        key_password=password,
    )
    assert creds.has_client_cert
    assert creds.certificate == zoo.client.cert


def test_zoo_encrypted_key_without_its_password_is_refused(zoo):
    with pytest.raises(tlsconnect.ConfigError, match="password"):
        tlsconnect.Credentials(cert=zoo.client_chain, key=zoo.client_keys["der-encrypted"])
