"""cassandra-driver: ``Cluster(**p)``.

No Cassandra server can be installed here, so this proves two things instead: the Cluster
holds the plan's context and ``server_hostname``, and the driver's own connection code
(``Cluster.connect()``: its reactor, its socket wrapping) makes a real TLS handshake with
them against a plain TLS server on loopback, which records the handshake and the client
certificate. The CQL exchange then fails (that server does not speak CQL), which is
expected and checked.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

import tlsconnect
from tlsconnect import ConfigError, Credentials, InsecureConnectionWarning
from tlsconnect.testing import TLSServer


def connect(p: dict) -> BaseException:
    """``Cluster(**p).connect()``; returns the error of the one contact point."""
    from cassandra.cluster import Cluster, NoHostAvailable

    cluster = Cluster(**p, connect_timeout=5, control_connection_timeout=5)
    try:
        with pytest.raises(NoHostAvailable) as info:
            cluster.connect()
    finally:
        cluster.shutdown()
    (error,) = info.value.errors.values()
    return error


def uri(server: TLSServer, userinfo: str = "avnadmin:s3cret") -> str:
    return f"cassandra://{userinfo}@localhost:{server.port}"


@pytest.fixture(scope="module")
def servers(pki) -> Iterator[dict[str, TLSServer]]:
    """Plain TLS servers on 127.0.0.1, asking for a client certificate from the project
    CA: with a certificate naming only DNS:localhost (not the address the driver resolves
    localhost to), one for another host, one from another CA."""
    made = {
        name: TLSServer(*getattr(pki, name).pair, client_ca=pki.ca_pem)
        for name in ("dnsonly", "wronghost", "othersigned")
    }
    yield made
    for server in made.values():
        server.stop()


def handshakes_ok(server: TLSServer) -> list[bool]:
    return [h.ok for h in server.wait_for_handshakes(1)]


@pytest.fixture(autouse=True)
def _clear(servers):
    for server in servers.values():
        server.clear()


def test_the_cluster_holds_the_plans_context_and_the_host_name(pki):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster

    p = tlsconnect.params(
        "cassandra",
        "cassandra://avnadmin:s3cret@localhost:24949",
        credentials=Credentials.from_directory(pki.creds_dir),
    )
    cluster = Cluster(**p)  # it resolves the contact point here: a name that resolves
    try:
        assert cluster.ssl_context is p["ssl_context"]
        assert cluster.ssl_context.verify_mode == ssl.CERT_REQUIRED
        assert cluster.ssl_context.check_hostname is True
        assert cluster.ssl_options == {"server_hostname": "localhost"}
        assert cluster.contact_points == ["localhost"] and cluster.port == 24949
        assert isinstance(cluster.auth_provider, PlainTextAuthProvider)
        assert cluster.auth_provider.username == "avnadmin"
    finally:
        cluster.shutdown()


def test_verify_full_handshakes_through_the_driver_and_presents_the_certificate(servers, pki):
    server = servers["dnsonly"]
    p = tlsconnect.params(
        "cassandra", uri(server), credentials=Credentials.from_directory(pki.creds_dir)
    )
    error = connect(p)
    assert "certificate" not in str(error).lower()  # past TLS: the server is not CQL
    (handshake,) = server.wait_for_handshakes(1)
    assert handshake.ok and handshake.peer_serial == pki.client.cert.serial_number


def test_without_server_hostname_the_driver_checks_the_resolved_address(servers, pki):
    """PYTHON-1186, the pitfall server_hostname avoids: the certificate names
    DNS:localhost, the driver resolved localhost to 127.0.0.1 and checks that."""
    server = servers["dnsonly"]
    p = tlsconnect.params("cassandra", uri(server), ca=pki.ca_pem)
    del p["ssl_options"]
    error = connect(p)
    assert "not valid for '127.0.0.1'" in str(error) or "IP address mismatch" in str(error)


def test_verify_full_refuses_a_certificate_for_another_host(servers, pki):
    server = servers["wronghost"]
    error = connect(tlsconnect.params("cassandra", uri(server), ca=pki.ca_pem))
    assert "certificate verify failed" in str(error).lower()
    assert "not valid for 'localhost'" in str(error)


def test_verify_ca_accepts_a_certificate_for_another_host(servers, pki):
    server = servers["wronghost"]
    p = tlsconnect.params("cassandra", uri(server), sslmode="verify-ca", ca=pki.ca_pem)
    error = connect(p)
    assert "certificate" not in str(error).lower()
    assert handshakes_ok(server)[0]


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_a_server_from_another_ca_is_refused(servers, pki, sslmode):
    server = servers["othersigned"]
    error = connect(tlsconnect.params("cassandra", uri(server), sslmode=sslmode, ca=pki.ca_pem))
    assert "certificate verify failed" in str(error).lower()


def test_require_without_a_ca_warns_and_handshakes(servers):
    server = servers["othersigned"]
    with pytest.warns(InsecureConnectionWarning):
        p = tlsconnect.params("cassandra", uri(server), sslmode="require")
    error = connect(p)
    assert "certificate" not in str(error).lower()
    assert handshakes_ok(server)[0]


def test_host_and_port_work_without_a_user(pki):
    p = tlsconnect.params("cassandra", "cass-x.aivencloud.com:24949", ca=pki.ca_pem)
    assert p["contact_points"] == ["cass-x.aivencloud.com"] and "auth_provider" not in p


def test_a_keyspace_in_the_uri_is_refused_with_where_it_goes():
    with pytest.raises(ConfigError, match=r"cluster.connect\('KEYSPACE'\)"):
        tlsconnect.params("cassandra", "cassandra://u:p@h:9042/metrics")


def test_ssl_options_cannot_be_replaced(pki):
    with pytest.raises(ConfigError, match="ssl_options is set by tlsconnect"):
        tlsconnect.params("cassandra", "h:9042", ca=pki.ca_pem, ssl_options={"ca_certs": "x"})


def test_the_console_cassandra_uri_is_read_whole():
    from tlsconnect._target import parse_target

    target = parse_target("cassandra://avnadmin:pa%40ss@cass-x.aivencloud.com:24949/ks?ssl=true")
    assert (target.host, target.port) == ("cass-x.aivencloud.com", 24949)
    assert (target.user, target.password, target.path) == ("avnadmin", "pa@ss", "/ks")
    assert target.sslmode == "require"  # the URI's TLS word, used only when none is asked
