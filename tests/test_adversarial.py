"""Adversarial certificates, each as a real handshake, in a Python context and in psycopg.

The PKI (tests/adversarial_pki.py) is shaped like a real one: the session's project CA as
the root, server and client intermediates below it, leaves with AKI/SKI/EKU/SAN. Every
server case runs

* in a Python context from ``tlsconnect.ssl_context()`` against a :class:`TLSServer`
  that sends the case's chain (connecting to an address, passing ``server_hostname``);
* in psycopg from ``tlsconnect.psycopg_params()`` against one dedicated PostgreSQL
  instance whose certificate file (leaf + intermediates) is swapped and reloaded per case
  (``host=<name> hostaddr=127.0.0.1``, so host names need no resolver);

under verify-full, verify-ca and require-with-a-CA (which verifies the chain, libpq's
rule); require without a CA verifies nothing, in both, with a warning.

Policies shown here (for the README):

* **An intermediate alone is never a trust anchor.** ``build_context`` clears
  ``VERIFY_X509_PARTIAL_CHAIN`` and libpq refuses partial chains, so trusting only the
  server intermediate is refused in both. Trust the root (the project CA) instead; a
  bundle holding the root and the intermediate also lets a server that sends only its
  leaf be verified.
* **Host names.** Python contexts match subjectAltName only (never the CN); libpq falls
  back to the CN when a certificate has no SAN: a CN-only certificate passes verify-full
  in psycopg and fails it in a Python context. Wildcards cover exactly one label in both.
  A trailing dot is not stripped by either: ``db.example.test.`` does not match
  ``db.example.test``. An internationalised name must be given to libpq as its A-label
  (``xn--...``); Python's ``ssl`` encodes a U-label itself, so both forms match there.
* **Weak server certificates** (an RSA-1024 key, a SHA-1 signature) are refused by both
  whenever the chain is verified (Python: "EE certificate key too weak", "CA signature
  digest algorithm too weak"; libpq: "certificate verify failed"). require without a CA
  verifies nothing, so it accepts them too, with the InsecureConnectionWarning.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization

import tlsconnect
from adversarial_pki import IDNA_A_LABEL, IDNA_U_LABEL, AdversarialPKI, Leaf, make_adversarial_pki
from tlsconnect import (
    CertificateExpiryWarning,
    ConfigError,
    Credentials,
    InsecureConnectionWarning,
)

SSL_REQUEST = struct.pack("!ii", 8, 80877103)
OK = "ok"


# -- fixtures: the PKI, one PostgreSQL instance whose certificate is swapped -----------


@pytest.fixture(scope="module")
def adv(pki, tmp_path_factory) -> AdversarialPKI:
    return make_adversarial_pki(tmp_path_factory.mktemp("adversarial"), pki.ca)


def _presented(port: int) -> bytes:
    """The certificate a PostgreSQL server presents now (read without verifying)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(SSL_REQUEST)
        assert raw.recv(1) == b"S"
        with context.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True) or b""


class SwappablePostgres:
    """One PostgreSQL instance; :meth:`serve` installs a case's certificate and reloads."""

    def __init__(self, server) -> None:
        self.server = server
        self.current: tuple[str, bool] | None = None

    @property
    def port(self) -> int:
        return int(self.server.port)

    def serve(self, leaf: Leaf, *, chain: bool = True) -> None:
        if self.current == (leaf.name, chain):
            return
        owner = pwd.getpwnam("postgres")
        data = self.server.data_dir
        for source, name, mode in (
            (leaf.chain_path if chain else leaf.cert_path, "server.crt", 0o644),
            (leaf.key_path, "server.key", 0o600),
        ):
            staged = data / f"{name}.new"
            shutil.copyfile(source, staged)
            os.chown(staged, owner.pw_uid, owner.pw_gid)
            os.chmod(staged, mode)
            os.replace(staged, data / name)
        self.server.psql("SELECT pg_reload_conf()")
        wanted = leaf.cert.public_bytes(serialization.Encoding.DER)
        deadline = time.monotonic() + 10
        while _presented(self.port) != wanted:
            assert time.monotonic() < deadline, self.server.log_text()[-3000:]
            time.sleep(0.02)
        self.current = (leaf.name, chain)


@pytest.fixture(scope="module")
def adv_pg(pg, adv) -> SwappablePostgres:
    good = adv.leaves["good"]
    return SwappablePostgres(pg.start("adversarial", good.chain_path, good.key_path))


class LegacyEndpoint:
    """A TLS endpoint that can present weak certificates (security level 0 on the server
    side; the clients keep their own levels). It answers PostgreSQL's SSLRequest with
    ``S`` when one comes first, so libpq and Python clients both reach the handshake;
    after a handshake it reads one message and closes."""

    def __init__(self, leaf: Leaf) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.load_cert_chain(leaf.chain_path, leaf.key_path)
        self.context = context
        self.handshakes = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError, ssl.SSLError):
                conn.settimeout(5)
                if conn.recv(8, socket.MSG_PEEK) == SSL_REQUEST:
                    conn.recv(8)
                    conn.sendall(b"S")
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    tls.sendall(b"OK\n")
                    tls.recv(100)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


@pytest.fixture(scope="module")
def legacy(adv) -> Iterator[Callable[[str], LegacyEndpoint]]:
    started: dict[str, LegacyEndpoint] = {}

    def get(name: str) -> LegacyEndpoint:
        if name not in started:
            started[name] = LegacyEndpoint(adv.leaves[name])
        return started[name]

    yield get
    for endpoint in started.values():
        endpoint.stop()


@pytest.fixture(scope="module")
def py_server(tls_server, adv) -> Callable[..., object]:
    started: dict[tuple[str, bool, str], object] = {}

    def get(name: str, *, chain: bool = True, addr: str = "127.0.0.1") -> object:
        key = (name, chain, addr)
        if key not in started:
            leaf = adv.leaves[name]
            started[key] = tls_server(
                (leaf.chain_path if chain else leaf.cert_path, leaf.key_path), host=addr
            )
        return started[key]

    return get


# -- the clients -------------------------------------------------------------------


def python_handshake(
    context: ssl.SSLContext, addr: str, port: int, host: str, *, ssl_request: bool = False
) -> str:
    """Handshake (and read the server's greeting); return the TLS version."""
    with socket.create_connection((addr, port), timeout=5) as raw:
        if ssl_request:
            raw.sendall(SSL_REQUEST)
            assert raw.recv(1) == b"S"
        with context.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.recv(3) == b"OK\n"
            return str(tls.version())


def libpq_conninfo(host: str, addr: str, port: int, user: str = "tlsuser") -> str:
    where = f"host={host}" if host == addr else f"host={host} hostaddr={addr}"
    return f"{where} port={port} dbname=defaultdb user={user}"


def libpq_select(params: dict) -> tuple:
    with psycopg.connect(**params, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT ssl, client_dn, client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return tuple(row)


def legacy_libpq_handshake(params: dict) -> str:
    """Connect libpq to a :class:`LegacyEndpoint`: past a successful handshake the
    stand-in answers "OK\\n", which libpq refuses as a protocol error."""
    try:
        libpq_select(params)
    except psycopg.OperationalError as exc:
        if "certificate verify failed" in str(exc) or "received O" not in str(exc):
            raise
        return "handshake completed"
    raise AssertionError("a LegacyEndpoint cannot complete a PostgreSQL startup")


# -- the server-certificate table ------------------------------------------------------


@dataclass(frozen=True)
class Fail:
    """Verification fails. In a Python context: an SSLCertVerificationError whose
    ``verify_code`` (OpenSSL's X509_V_ERR_*) is one of ``codes`` and whose message matches
    ``python`` (what tlsconnect's explanation must name); in psycopg: an OperationalError
    matching ``libpq``."""

    codes: frozenset[int]
    python: str
    libpq: str = "certificate verify failed"


# OpenSSL's X509_V_ERR_* codes
UNABLE_TO_GET_ISSUER = 2
NOT_YET_VALID = 9
EXPIRED = 10
SELF_SIGNED_LEAF = 18
UNABLE_TO_GET_LOCAL_ISSUER = 20
HOSTNAME_MISMATCH = 62
IP_MISMATCH = 64
EE_KEY_TOO_SMALL = 66
CA_MD_TOO_WEAK = 68
UNTRUSTED = frozenset({UNABLE_TO_GET_ISSUER, UNABLE_TO_GET_LOCAL_ISSUER})


CHAIN = "certificate verify failed"


@dataclass(frozen=True)
class Case:
    id: str
    leaf: str
    ca: str  # a bundle of adversarial_pki
    host: str = "db.example.test"
    chain: bool = True  # the server sends its intermediates
    addr: str = "127.0.0.1"
    full: str | Fail = OK  # outcome under verify-full
    chain_only: str | Fail | None = None  # verify-ca and require with a CA (default: full's)
    libpq_full: str | Fail | None = None  # where libpq differs under verify-full
    legacy: bool = False  # served by LegacyEndpoint (weak material)
    ca_expired: bool = False  # the bundle holds an expired CA: a CertificateExpiryWarning

    def outcome(self, client: str, sslmode: str) -> str | Fail:
        if sslmode == "verify-full":
            if client == "libpq" and self.libpq_full is not None:
                return self.libpq_full
            return self.full
        return self.full if self.chain_only is None else self.chain_only


def _mismatch(host: str) -> Fail:
    return Fail(
        frozenset({HOSTNAME_MISMATCH, IP_MISMATCH}),
        re.escape(host),
        f'does not match host name "{re.escape(host)}"',
    )


CASES = [
    # chains and anchors
    Case("leaf+intermediate-sent-root-trusted", "good", "root"),
    Case(
        "leaf-only-sent-root-trusted",
        "good",
        "root",
        chain=False,
        full=Fail(UNTRUSTED, "Server Intermediate CA"),
    ),
    Case("leaf-only-sent-client-holds-intermediate", "good", "root+int", chain=False),
    Case(
        "intermediate-alone-as-anchor-is-refused",
        "good",
        "int-only",
        full=Fail(UNTRUSTED, "Server Intermediate CA"),
    ),
    Case("bundle-untrusted-then-root", "good", "untrusted-then-root"),
    Case("bundle-root-then-untrusted", "good", "root-then-untrusted"),
    Case("bundle-expired-ca-and-valid-root", "good", "retired+root", ca_expired=True),
    Case(
        "rollover-expired-then-valid-same-key", "rollover", "rollover-old-then-new", ca_expired=True
    ),
    Case(
        "rollover-valid-then-expired-same-key", "rollover", "rollover-new-then-old", ca_expired=True
    ),
    Case(
        "rollover-only-the-expired-ca",
        "rollover",
        "rollover-old-only",
        ca_expired=True,
        full=Fail(frozenset({EXPIRED}), "expired"),
    ),
    Case("untrusted-root", "untrusted", "root", full=Fail(UNTRUSTED, "Untrusted Intermediate CA")),
    Case(
        "self-signed-server",
        "self-signed",
        "root",
        full=Fail(frozenset({SELF_SIGNED_LEAF}), "db.example.test"),
    ),
    Case("self-signed-server-pinned-as-ca", "self-signed", "self-signed-pin"),
    # validity
    Case("expired-leaf", "expired", "root", full=Fail(frozenset({EXPIRED}), "expired")),
    Case(
        "not-yet-valid-leaf",
        "not-yet-valid",
        "root",
        full=Fail(frozenset({NOT_YET_VALID}), "not valid yet|not yet valid|not valid before"),
    ),
    Case(
        "expired-intermediate",
        "under-expired-int",
        "root",
        full=Fail(frozenset({EXPIRED}), "expired"),
    ),
    Case(
        "not-yet-valid-intermediate",
        "under-future-int",
        "root",
        full=Fail(frozenset({NOT_YET_VALID}), "not valid yet|not yet valid|not valid before"),
    ),
    # host names
    Case("dns-san-second-name", "good", "root", host="localhost"),
    Case("dns-san-case-insensitive", "good", "root", host="DB.Example.TEST"),
    Case(
        "dns-san-mismatch",
        "good",
        "root",
        host="other.example.test",
        full=_mismatch("other.example.test"),
        chain_only=OK,
    ),
    Case(
        "trailing-dot-is-not-stripped",
        "good",
        "root",
        host="db.example.test.",
        full=_mismatch("db.example.test."),
        chain_only=OK,
    ),
    Case("wildcard-one-label", "wildcard", "root", host="a.example.test"),
    Case(
        "wildcard-two-labels",
        "wildcard",
        "root",
        host="a.b.example.test",
        full=_mismatch("a.b.example.test"),
        chain_only=OK,
    ),
    Case(
        "wildcard-bare-domain",
        "wildcard",
        "root",
        host="example.test",
        full=_mismatch("example.test"),
        chain_only=OK,
    ),
    Case("ipv4-san", "ipv4-only", "root", host="127.0.0.1"),
    Case(
        "ipv4-only-cert-by-dns-name",
        "ipv4-only",
        "root",
        host="localhost",
        full=_mismatch("localhost"),
        chain_only=OK,
    ),
    Case("ipv6-san", "ipv6-only", "root", host="::1", addr="::1"),
    Case(
        "ipv6-only-cert-by-ipv4",
        "ipv6-only",
        "root",
        host="127.0.0.1",
        full=_mismatch("127.0.0.1"),
        chain_only=OK,
    ),
    Case("ipv6-san-among-dns-names", "good", "root", host="::1", addr="::1"),
    Case(
        "cn-only-python-refuses-libpq-accepts",
        "cn-only",
        "root",
        full=Fail(frozenset({HOSTNAME_MISMATCH}), "db.example.test"),
        chain_only=OK,
        libpq_full=OK,
    ),
    Case(
        "no-cn-no-san",
        "no-names",
        "root",
        full=Fail(
            frozenset({HOSTNAME_MISMATCH}),
            "db.example.test",
            "could not get server's host name from server certificate",
        ),
        chain_only=OK,
    ),
    Case(
        "idna-u-label-python-encodes-libpq-does-not",
        "idna",
        "root",
        host=IDNA_U_LABEL,
        libpq_full=Fail(frozenset(), "", f'does not match host name "{IDNA_U_LABEL}"'),
    ),
    Case("idna-a-label", "idna", "root", host=IDNA_A_LABEL),
    # weak server material
    Case(
        "rsa-1024-server-key",
        "rsa-1024",
        "root",
        legacy=True,
        full=Fail(frozenset({EE_KEY_TOO_SMALL}), "key too weak"),
    ),
    Case(
        "sha1-signed-server-cert",
        "sha1",
        "root",
        legacy=True,
        full=Fail(frozenset({CA_MD_TOO_WEAK}), "digest algorithm too weak"),
    ),
]
MODES = ["verify-full", "verify-ca", "require"]
CLIENTS = ["python", "libpq"]
PARAMS = [
    pytest.param(case, mode, client, id=f"{case.id}-{mode}-{client}")
    for case in CASES
    for mode in MODES
    for client in CLIENTS
]


def _credentials(adv: AdversarialPKI, case: Case) -> Credentials:
    path = adv.bundles[case.ca]
    if case.ca_expired:
        with pytest.warns(CertificateExpiryWarning, match="expired"):
            return Credentials(ca=path)
    return Credentials(ca=path)


def _assert_outcome(expected: str | Fail, client: str, attempt: Callable[[], object]) -> None:
    if expected == OK:
        attempt()
        return
    assert isinstance(expected, Fail)
    error: type[BaseException] = (
        ssl.SSLCertVerificationError if client == "python" else psycopg.OperationalError
    )
    with pytest.raises(error) as info:
        attempt()
    message = str(info.value)
    if client == "python":
        code = getattr(info.value, "verify_code", None)
        assert code in expected.codes, (code, message)
        assert re.search(expected.python, message), message
    else:
        assert re.search(expected.libpq, message), message


@pytest.mark.parametrize(("case", "sslmode", "client"), PARAMS)
def test_server_certificate(case, sslmode, client, adv, adv_pg, py_server, legacy):
    credentials = _credentials(adv, case)
    expected = case.outcome(client, sslmode)
    if client == "python":
        context = tlsconnect.ssl_context("postgresql", sslmode=sslmode, credentials=credentials)
        if case.legacy:
            endpoint = legacy(case.leaf)
            port, request = endpoint.port, True
        else:
            port, request = py_server(case.leaf, chain=case.chain, addr=case.addr).port, False

        def attempt() -> object:
            return python_handshake(context, case.addr, port, case.host, ssl_request=request)

    else:
        if case.legacy:
            port = legacy(case.leaf).port
        else:
            adv_pg.serve(adv.leaves[case.leaf], chain=case.chain)
            port = adv_pg.port
        params = tlsconnect.psycopg_params(
            libpq_conninfo(case.host, case.addr, port), sslmode=sslmode, credentials=credentials
        )
        assert params["sslmode"] == ("verify-ca" if sslmode == "require" else sslmode)

        def attempt() -> object:
            if case.legacy:
                return legacy_libpq_handshake(params)
            return libpq_select(params)

    _assert_outcome(expected, client, attempt)


# Under require without a CA nothing is verified, in both, whatever the certificate.
UNVERIFIED = [
    "expired",
    "under-expired-int",
    "self-signed",
    "untrusted",
    "no-names",
    "rsa-1024",
    "sha1",
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("leaf", UNVERIFIED)
def test_require_without_ca_accepts_anything_and_warns(
    leaf, client, adv, adv_pg, py_server, legacy
):
    weak = leaf in ("rsa-1024", "sha1")
    if client == "python":
        with pytest.warns(InsecureConnectionWarning):
            context = tlsconnect.ssl_context("postgresql", sslmode="require")
        if weak:
            port, request = legacy(leaf).port, True
        else:
            port, request = py_server(leaf).port, False
        assert python_handshake(context, "127.0.0.1", port, "db.example.test", ssl_request=request)
        return
    if weak:
        endpoint = legacy(leaf)
        before = endpoint.handshakes
        with pytest.warns(InsecureConnectionWarning):
            params = tlsconnect.psycopg_params(
                libpq_conninfo("db.example.test", "127.0.0.1", endpoint.port), sslmode="require"
            )
        assert legacy_libpq_handshake(params)
        assert endpoint.handshakes == before + 1  # the handshake itself succeeded
        return
    adv_pg.serve(adv.leaves[leaf])
    with pytest.warns(InsecureConnectionWarning):
        params = tlsconnect.psycopg_params(
            libpq_conninfo("db.example.test", "127.0.0.1", adv_pg.port), sslmode="require"
        )
    assert libpq_select(params)[0] is True


def test_weak_material_as_client_material_is_refused_saying_why(adv):
    """Credentials refuses weak material before any connection: a SHA-1 signed or
    RSA-1024 certificate as the client certificate, a 1024-bit CA."""
    sha1 = adv.leaves["sha1"]
    with pytest.raises(ConfigError, match="signed with SHA1.*SHA-256"):
        Credentials(cert=sha1.cert_path, key=sha1.key_path)
    rsa1024 = adv.leaves["rsa-1024"]
    with pytest.raises(ConfigError, match="1024-bit RSA key"):
        Credentials(cert=rsa1024.cert_path, key=rsa1024.key_path)
    with pytest.raises(ConfigError, match="1024-bit RSA key"):
        Credentials(ca=rsa1024.cert_path)


# -- client certificates --------------------------------------------------------------


def _client_files(adv: AdversarialPKI, name: str, *, chain: bool) -> dict:
    leaf = adv.clients[name]
    return {"cert": leaf.chain_path if chain else leaf.cert_path, "key": leaf.key_path}


def test_client_cert_from_an_intermediate_with_the_intermediate_is_accepted_python(adv, tls_server):
    good = adv.leaves["good"]
    server = tls_server(
        (good.chain_path, good.key_path), require_client_cert=True, client_ca=adv.root.cert_path
    )
    context = tlsconnect.ssl_context(
        "kafka", ca=adv.bundles["root"], **_client_files(adv, "via-int", chain=True)
    )
    python_handshake(context, "127.0.0.1", server.port, "db.example.test")
    accepted = [h for h in server.handshakes if h.ok]
    assert accepted and accepted[-1].peer_cert is not None
    assert (
        int(accepted[-1].peer_cert["serialNumber"], 16) == adv.clients["via-int"].cert.serial_number
    )


@pytest.mark.parametrize("tls_version", ["TLSv1_3", "TLSv1_2"])
@pytest.mark.parametrize(
    ("client", "chain"),
    [("via-int", False), ("untrusted", True)],
    ids=["leaf-without-intermediate", "untrusted-ca"],
)
def test_client_cert_the_server_cannot_verify_is_refused_python(
    adv, tls_server, client, chain, tls_version
):
    """Under TLS 1.3 the client's handshake completes before the server has judged the
    client certificate: the refusal arrives on the first read. Under TLS 1.2 it ends the
    handshake itself."""
    good = adv.leaves["good"]
    version = getattr(ssl.TLSVersion, tls_version)

    def pin(context: ssl.SSLContext) -> None:
        context.maximum_version = version

    server = tls_server(
        (good.chain_path, good.key_path),
        require_client_cert=True,
        client_ca=adv.root.cert_path,
        context_hook=pin,
    )
    context = tlsconnect.ssl_context(
        "kafka", ca=adv.bundles["root"], **_client_files(adv, client, chain=chain)
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        if tls_version == "TLSv1_3":
            with context.wrap_socket(raw, server_hostname="db.example.test") as tls:
                assert tls.version() == "TLSv1.3"  # the client saw a complete handshake
                with pytest.raises((ssl.SSLError, ConnectionResetError)) as info:
                    tls.recv(3)
        else:
            with pytest.raises(ssl.SSLError) as info:
                context.wrap_socket(raw, server_hostname="db.example.test")
    assert "unknown ca" in str(info.value).lower() or isinstance(info.value, ConnectionResetError)
    deadline = time.monotonic() + 5
    while not any(not h.ok for h in server.handshakes) and time.monotonic() < deadline:
        time.sleep(0.02)
    refused = [h for h in server.handshakes if not h.ok]
    assert refused and "certificate" in (refused[-1].error or "").lower(), server.handshakes


def test_client_cert_from_an_intermediate_with_the_intermediate_is_accepted_psycopg(adv, adv_pg):
    adv_pg.serve(adv.leaves["good"])
    params = tlsconnect.psycopg_params(
        libpq_conninfo("db.example.test", "127.0.0.1", adv_pg.port, user="avnadmin"),
        ca=adv.bundles["root"],
        **_client_files(adv, "via-int", chain=True),
    )
    ssl_on, client_dn, serial = libpq_select(params)
    assert ssl_on is True and "CN=avnadmin" in client_dn
    assert int(serial) == adv.clients["via-int"].cert.serial_number


@pytest.mark.parametrize(
    ("client", "chain"),
    [("via-int", False), ("untrusted", True)],
    ids=["leaf-without-intermediate", "untrusted-ca"],
)
def test_client_cert_the_server_cannot_verify_is_refused_psycopg(adv, adv_pg, client, chain):
    """libpq reports the server's refusal after its TLS 1.3 handshake completed."""
    adv_pg.serve(adv.leaves["good"])
    params = tlsconnect.psycopg_params(
        libpq_conninfo("db.example.test", "127.0.0.1", adv_pg.port, user="avnadmin"),
        ca=adv.bundles["root"],
        **_client_files(adv, client, chain=chain),
    )
    with pytest.raises(psycopg.OperationalError, match="unknown ca|certificate"):
        libpq_select(params)
