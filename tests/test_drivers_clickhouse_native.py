"""clickhouse-driver (ClickHouse's native protocol over TLS): its TLS handshake against
tlsconnect.testing's TLSServer, which records each handshake and the first bytes the
client sent after it.

No ClickHouse server that speaks the current native protocol installs here (README says
so), so what is proven is the TLS side, through clickhouse-driver's own connection code:
the handshake verified or refused as the plan says, the client certificate presented,
and the native protocol's Hello (client name, database, user) sent over the verified
channel. The recording server answers the first byte of a server Hello and, once it has
recorded the client's, closes: clickhouse-driver then reports an unexpected end of the
stream, past TLS.
"""

from __future__ import annotations

import logging
import time

import pytest

import tlsconnect
from tlsconnect import ConfigError, InsecureConnectionWarning
from tlsconnect.testing import Handshake, TLSServer

HELLO = b"ClickHouse python-driver"


@pytest.fixture
def native(tls_server):
    """A recording TLS server that keeps a native client waiting for the rest of the
    server's Hello (its first byte, 0, is the greeting) while it records the client's."""

    def make(cert: str = "good", **options) -> TLSServer:
        return tls_server(cert, greeting=b"\x00", read_timeout=0.5, **options)

    return make


@pytest.fixture(autouse=True)
def _quiet_driver_log(caplog):
    """clickhouse-driver logs every failed connection with its traceback."""
    caplog.set_level(logging.CRITICAL, logger="clickhouse_driver")


def attempt(p: dict, server: TLSServer) -> tuple[Handshake, BaseException]:
    """One connection attempt: what the server recorded, and what the client raised."""
    import clickhouse_driver

    server.clear()
    client = clickhouse_driver.Client(**p, connect_timeout=5, send_receive_timeout=5)
    try:
        with pytest.raises((clickhouse_driver.errors.Error, EOFError)) as info:
            client.execute("SELECT 1")
    finally:
        client.disconnect()
    (handshake,) = server.wait_for_handshakes(1)
    return handshake, info.value


def connects(p: dict, server: TLSServer) -> Handshake:
    """The handshake succeeded and the native Hello went over it."""
    handshake, error = attempt(p, server)
    assert handshake.ok, handshake.error
    deadline = time.monotonic() + 5
    while HELLO not in handshake.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert HELLO in handshake.received, handshake
    # past TLS: the recording server closed in the middle of its Hello
    assert isinstance(error, EOFError), repr(error)
    return handshake


def refused(p: dict, server: TLSServer) -> str:
    """The client refused the server's certificate: the verify error in clickhouse-driver's
    NetworkError (it carries the ssl error's text, not the exception), and the server saw
    the handshake end with the client's alert, before any protocol byte."""
    import clickhouse_driver

    handshake, error = attempt(p, server)
    assert isinstance(error, clickhouse_driver.errors.NetworkError), error
    message = str(error)
    assert "CERTIFICATE_VERIFY_FAILED" in message, message
    assert not handshake.ok and handshake.received == b"", handshake
    return message


def native_uri(server: TLSServer, host: str = "localhost") -> str:
    return f"clickhouse://avnadmin:s3cret@{host}:{server.port}/analytics"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_verify_full_connects_and_sends_the_hello_over_tls(native, pki, host):
    server = native("good")
    p = tlsconnect.params("clickhouse-driver", native_uri(server, host), ca=pki.ca_pem)
    assert p["secure"] is True and p["verify"] is True and p["check_hostname"] is True
    assert (p["host"], p["user"], p["password"], p["database"]) == (
        host,
        "avnadmin",
        "s3cret",
        "analytics",
    )
    handshake = connects(p, server)
    assert handshake.version in ("TLSv1.2", "TLSv1.3")
    assert b"analytics" in handshake.received and b"avnadmin" in handshake.received


def test_another_host_is_refused_under_verify_full_and_accepted_under_verify_ca(native, pki):
    server = native("wronghost")
    p = tlsconnect.params("clickhouse-driver", native_uri(server), ca=pki.ca_pem)
    message = refused(p, server)
    assert "Hostname mismatch" in message
    p = tlsconnect.params(
        "clickhouse-driver", native_uri(server), ca=pki.ca_pem, sslmode="verify-ca"
    )
    assert p["verify"] is True and p["check_hostname"] is False
    connects(p, server)


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_a_server_from_another_ca_is_refused(native, pki, sslmode):
    server = native("othersigned")
    p = tlsconnect.params("clickhouse-driver", native_uri(server), ca=pki.ca_pem, sslmode=sslmode)
    assert "unable to get local issuer certificate" in refused(p, server)


def test_the_client_certificate_is_presented(native, pki):
    server = native("good", require_client_cert=True)
    handshake, _ = attempt(
        tlsconnect.params("clickhouse-driver", native_uri(server), ca=pki.ca_pem), server
    )
    assert not handshake.ok  # required, and none was sent
    p = tlsconnect.params(
        "clickhouse-driver",
        native_uri(server),
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client.key_path,
    )
    assert connects(p, server).peer_serial == pki.client.cert.serial_number


def test_an_encrypted_key_goes_with_its_password(native, pki):
    server = native("good", require_client_cert=True)
    p = tlsconnect.params(
        "clickhouse-driver",
        native_uri(server),
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client_key_encrypted_path,
        key_password=pki.client_key_password,
    )
    assert p["keypass"] == pki.client_key_password
    assert connects(p, server).peer_serial == pki.client.cert.serial_number


def test_public_trust_by_default_and_the_environment_never_widens_it(native, pki, monkeypatch):
    """ClickHouse is a public-CA service: without a CA, certifi's roots only, named
    explicitly (clickhouse-driver would fall back to the system store without certifi),
    whatever SSL_CERT_FILE says."""
    import certifi

    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    server = native("good")
    p = tlsconnect.params("clickhouse-driver", f"localhost:{server.port}")
    assert p["ca_certs"] == certifi.where()
    refused(p, server)


def test_require_without_a_ca_warns_and_connects(native):
    server = native("othersigned")
    with pytest.warns(InsecureConnectionWarning):
        p = tlsconnect.params("clickhouse-driver", native_uri(server), sslmode="require")
    assert p["verify"] is False and "ca_certs" not in p
    connects(p, server)


def test_targets_as_the_console_shows_them():
    p = tlsconnect.params("clickhouse-driver", "clickhouse-1.example.com")
    assert (p["host"], p["port"]) == ("clickhouse-1.example.com", 9440)
    p = tlsconnect.params("clickhouse-driver", "clickhouses://u@h.example.com/db")
    assert (p["port"], p["user"], p["database"]) == (9440, "u", "db")
    p = tlsconnect.params("clickhouse-driver", "h.example.com:24950", compression=True)
    assert p["port"] == 24950 and p["compression"] is True
    with pytest.raises(ConfigError, match="native protocol"):
        tlsconnect.params("clickhouse-driver", "https://h.example.com:24949")
    with pytest.raises(ConfigError, match="without TLS"):
        tlsconnect.params("clickhouse-driver", "clickhouse://h.example.com:9000?secure=false")
    with pytest.raises(ConfigError, match="set by tlsconnect"):
        tlsconnect.params("clickhouse-driver", "h.example.com:9440", ca_certs="/etc/ssl/x.pem")
    with pytest.raises(ConfigError, match="keyword arguments instead"):
        tlsconnect.params("clickhouse-driver", "clickhouse://h.example.com/db?compression=lz4")
