"""What makes contexts cheap, proven to change nothing else (no timings here).

* certifi's CAs as a hashed directory: OpenSSL's subject hash computed in Python, the
  directory built once, privately and atomically, and verification equal to cafile=.
* caches: a context one caller changes does not change another's; shared contexts are
  explicit and refuse changes; edited files are read again; expiry warnings still come.
* ``import tlsconnect`` loads neither cryptography nor a driver.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

import _no_posix
import tlsconnect
from tlsconnect import CertificateExpiryWarning, ConfigError, _cache, _cadir, _certs
from tlsconnect._context import SharedSSLContext, new_client_context


def openssl() -> str:
    """The openssl binary, which scripts/install.sh installs (Debian: openssl): never skipped."""
    found = shutil.which("openssl")
    assert found, "the openssl binary is not on PATH: run scripts/install.sh (Debian: openssl)"
    return found


CERTIFI_BUNDLE = Path(certifi.where()).read_bytes()
CERTIFI_CERTS = _certs.pem_certificates(CERTIFI_BUNDLE)

# X509_V_ERR_* codes
UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty cache root for this test (and a fresh in-process memo)."""
    root = tmp_path / "cache" / "tlsconnect"
    monkeypatch.setenv(_cadir.CACHE_DIR_ENV, str(root))
    _cadir.forget()
    yield root
    _cadir.forget()


def openssl_hash(pem: bytes) -> str:
    result = subprocess.run(
        [openssl(), "x509", "-subject_hash", "-noout"], input=pem, capture_output=True, check=True
    )
    return result.stdout.decode().strip()


def self_signed(name: x509.Name) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


# -- OpenSSL's subject hash ---------------------------------------------------------------


def test_subject_hash_equals_openssl_for_every_certifi_certificate(tmp_path: Path) -> None:
    # One `openssl rehash` over one file per certificate names each by its hash.
    for number, (block, _) in enumerate(CERTIFI_CERTS):
        (tmp_path / f"cert{number}.pem").write_bytes(block)
    subprocess.run([openssl(), "rehash", str(tmp_path)], check=True, capture_output=True)
    by_openssl = {}
    for link in tmp_path.iterdir():
        if link.is_symlink():
            by_openssl[os.readlink(link)] = link.name.split(".")[0]
    assert len(by_openssl) == len(CERTIFI_CERTS) > 100
    for number, (_, der) in enumerate(CERTIFI_CERTS):
        assert _certs.subject_hash(der) == by_openssl[f"cert{number}.pem"]


def _name(*rdns: list[x509.NameAttribute]) -> x509.Name:
    return x509.Name([x509.RelativeDistinguishedName(rdn) for rdn in rdns])


CN, ORG, OU, C = (
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.COUNTRY_NAME,
)

TRICKY_NAMES = {
    "mixed case": _name([x509.NameAttribute(CN, "MiXeD CaSe Root CA")]),
    "whitespace": _name([x509.NameAttribute(CN, "  Lots \t of\n\n  Space  ")]),
    "non-ascii utf8": _name(
        [x509.NameAttribute(ORG, "Ünïcødé Ärger GmbH")],
        [x509.NameAttribute(CN, "ÉCOLE Root — Ω")],
    ),
    "bmpstring": _name([x509.NameAttribute(CN, "BMP Ĉĥàrš Root", _type=_ASN1Type.BMPString)]),
    "universalstring": _name(
        [x509.NameAttribute(CN, "Universal Root 🙂", _type=_ASN1Type.UniversalString)]
    ),
    "t61string": _name([x509.NameAttribute(CN, "Teletex Root é", _type=_ASN1Type.T61String)]),
    "ia5 and printable": _name(
        [x509.NameAttribute(C, "DE")],
        [x509.NameAttribute(CN, "IA5 ROOT", _type=_ASN1Type.IA5String)],
    ),
    "multi-valued rdn": _name(
        [
            x509.NameAttribute(OU, "Zeta Unit"),
            x509.NameAttribute(CN, "alpha"),
            x509.NameAttribute(ORG, "Mid Org"),
        ],
    ),
    "numericstring kept as is": _name(
        [x509.NameAttribute(NameOID.SERIAL_NUMBER, "0012 34", _type=_ASN1Type.NumericString)],
        [x509.NameAttribute(CN, "Numeric")],
    ),
    "empty": x509.Name([]),
}


@pytest.mark.parametrize("case", sorted(TRICKY_NAMES))
def test_subject_hash_canonicalises_names_as_openssl_does(case: str) -> None:
    pem = self_signed(TRICKY_NAMES[case])
    ((_, der),) = _certs.pem_certificates(pem)
    assert _certs.subject_hash(der) == openssl_hash(pem)


def test_names_differing_only_in_case_and_spacing_share_a_hash() -> None:
    one = self_signed(_name([x509.NameAttribute(CN, "Some  Root CA")]))
    two = self_signed(_name([x509.NameAttribute(CN, " some root ca ")]))
    hashes_ = {_certs.subject_hash(_certs.pem_certificates(p)[0][1]) for p in (one, two)}
    assert len(hashes_) == 1


# -- verification is the same as with cafile= ------------------------------------------------


def _handshake_code(client: ssl.SSLContext, server: ssl.SSLContext) -> int:
    """Run a handshake in memory; return the client's verify code (0 when it verified)."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    tls_client = client.wrap_bio(c_in, c_out)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(20):
        try:
            tls_client.do_handshake()
            return 0
        except ssl.SSLCertVerificationError as exc:
            return int(exc.verify_code)
        except ssl.SSLWantReadError:
            pass
        s_in.write(c_out.read())
        try:
            tls_server.do_handshake()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError:
            pass
        c_in.write(s_out.read())
    raise AssertionError("the handshake did not finish")


def _client(**trust: str) -> ssl.SSLContext:
    context = new_client_context()
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = False
    context.load_verify_locations(**trust)
    return context


def test_every_certifi_root_is_found_by_hash_lookup_exactly_as_with_cafile(
    tmp_path: Path, cache_dir: Path
) -> None:
    """For each certifi root, a server presents a leaf that names the root as its issuer
    but is signed by a key of ours. A store that finds the root by name fails on the
    signature (or on the root's own validity), one that does not find it fails with
    "unable to get local issuer certificate". The hashed directory and cafile= must fail
    the same way for every root, and the root must be what the directory served."""
    trust = _cadir.public_trust()
    assert trust.capath is not None and Path(trust.capath).parent == cache_dir
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    signers = {"rsa": rsa.generate_private_key(65537, 2048), "ec": leaf_key}
    now = datetime.datetime.now(datetime.timezone.utc)
    key_file = tmp_path / "leaf.key"
    key_file.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    reference = _client(cafile=certifi.where())

    def leaf_for(issuer: x509.Name, signer_kind: str) -> ssl.SSLContext:
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name([x509.NameAttribute(CN, "leaf")]))
            .issuer_name(issuer)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(signers[signer_kind], hashes.SHA256())  # type: ignore[arg-type]
        )
        cert_file = tmp_path / "leaf.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert_file, key_file)
        return server

    checked = 0
    for _, der in CERTIFI_CERTS:
        with warnings.catch_warnings():  # one certifi root has a serial number of 0
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            root = x509.load_der_x509_certificate(der)
        kind = "rsa" if isinstance(root.public_key(), rsa.RSAPublicKey) else "ec"
        server = leaf_for(root.subject, kind)
        hashed = _client(capath=trust.capath)
        code = _handshake_code(hashed, server)
        assert code == _handshake_code(reference, server), root.subject.rfc4514_string()
        assert code not in (0, UNABLE_TO_GET_ISSUER_CERT_LOCALLY), root.subject
        assert der in hashed.get_ca_certs(binary_form=True)  # served from the directory
        checked += 1
    assert checked == len(CERTIFI_CERTS)

    # An issuer certifi does not hold: both stores say so, the same way.
    stranger = leaf_for(_name([x509.NameAttribute(CN, "Nobody's Root")]), "rsa")
    assert (
        _handshake_code(_client(capath=trust.capath), stranger)
        == _handshake_code(reference, stranger)
        == UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    )


def _talk(context: ssl.SSLContext, address: tuple[str, int]) -> bytes:
    with socket.create_connection(address, timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.recv(3)


def test_a_chain_verifies_when_its_root_is_in_a_hashed_dir_and_fails_when_it_is_not(
    pki, tls_server, tmp_path: Path
) -> None:
    server = tls_server("good")
    with_root = tmp_path / "with-root"
    without_root = tmp_path / "without-root"
    with_root.mkdir()
    without_root.mkdir()
    _cadir.build_hashed_dir(CERTIFI_BUNDLE + pki.ca.cert_pem, with_root)
    _cadir.build_hashed_dir(CERTIFI_BUNDLE, without_root)

    accepted = new_client_context()
    accepted.load_verify_locations(capath=str(with_root))
    assert _talk(accepted, server.address) == b"OK\n"

    for trust in ({"capath": str(without_root)}, {"cafile": certifi.where()}):
        refused = new_client_context()
        refused.load_verify_locations(**trust)
        with pytest.raises(ssl.SSLCertVerificationError) as caught:
            _talk(refused, server.address)
        assert caught.value.verify_code == UNABLE_TO_GET_ISSUER_CERT_LOCALLY


def test_project_plus_public_trusts_the_project_ca_next_to_the_hashed_dir(
    pki, tls_server, cache_dir: Path
) -> None:
    server = tls_server("good")
    context = tlsconnect.ssl_context("redis", ca=pki.ca.cert_path)
    assert _talk(context, server.address) == b"OK\n"
    public_only = tlsconnect.ssl_context("redis")
    with pytest.raises(ssl.SSLCertVerificationError):
        _talk(public_only, server.address)
    assert any(p.name.startswith("ca-") for p in cache_dir.iterdir())


# -- the cache directory ---------------------------------------------------------------------


def test_the_hashed_dir_is_built_once_and_reused(cache_dir: Path) -> None:
    first = _cadir.public_trust()
    assert first.capath is not None
    built = Path(first.capath)
    inode, files = built.stat().st_ino, sorted(os.listdir(built))
    assert len([f for f in files if f != "MANIFEST"]) == len(CERTIFI_CERTS)
    _cadir.forget()  # as a new process would
    second = _cadir.public_trust()
    assert second == first
    assert built.stat().st_ino == inode and sorted(os.listdir(built)) == files
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith("ca-")] == [built.name]
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".build-")]


def test_cache_files_are_private_to_the_user(cache_dir: Path) -> None:
    trust = _cadir.public_trust()
    assert trust.capath is not None
    for directory in (cache_dir, Path(trust.capath)):
        info = directory.lstat()
        assert info.st_uid == _no_posix.uid()
        assert info.st_mode & 0o777 == 0o700
    for file in Path(trust.capath).iterdir():
        assert file.lstat().st_mode & 0o777 == 0o600


def test_concurrent_builders_in_threads_agree_on_one_complete_dir(tmp_path: Path) -> None:
    root = tmp_path / "tlsconnect"
    results: list[Path | None] = []
    barrier = threading.Barrier(8)

    def build() -> None:
        barrier.wait()
        results.append(_cadir.hashed_dir_for_bundle(CERTIFI_BUNDLE, root))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and results[0] is not None
    assert len(os.listdir(results[0])) == len(CERTIFI_CERTS) + 1  # + MANIFEST
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith("bundle-")) == [
        os.path.basename(results[0])
    ]


def test_concurrent_builder_processes_agree_on_one_complete_dir(tmp_path: Path) -> None:
    root = tmp_path / "tlsconnect"
    env = dict(os.environ, **{_cadir.CACHE_DIR_ENV: str(root)})
    code = (
        "import ssl; from tlsconnect._cadir import public_trust\n"
        "t = public_trust(); print(t.capath)\n"
        "from tlsconnect import ssl_context; assert ssl_context('redis').verify_mode == "
        "ssl.CERT_REQUIRED\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
        for _ in range(6)
    ]
    outputs = [p.communicate(timeout=120)[0].decode().strip() for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert len(set(outputs)) == 1 and outputs[0] != "None"
    assert len(os.listdir(outputs[0])) == len(CERTIFI_CERTS) + 1
    assert not [p for p in root.iterdir() if p.name.startswith(".build-")]


def test_a_cache_that_cannot_be_made_falls_back_to_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(_cadir.CACHE_DIR_ENV, str(blocker / "tlsconnect"))
    _cadir.forget()
    try:
        trust = _cadir.public_trust()
        assert trust == _cadir.TrustLocation(cafile=certifi.where())
        context = tlsconnect.ssl_context("redis")
        assert len(context.get_ca_certs()) == len(CERTIFI_CERTS)  # loaded the slow way
    finally:
        _cadir.forget()


def test_a_hashed_dir_others_can_write_is_not_trusted(cache_dir: Path) -> None:
    trust = _cadir.public_trust()
    assert trust.capath is not None
    os.chmod(trust.capath, 0o777)
    _cadir.forget()
    if _no_posix.ACTIVE:  # as on Windows: no mode bits; the profile's access list decides
        assert _cadir.public_trust() == trust
        return
    assert _cadir.public_trust() == _cadir.TrustLocation(cafile=certifi.where())


@pytest.mark.skipif(_no_posix.uid() != 0, reason="changing a directory's owner needs root")
def test_a_cache_dir_owned_by_someone_else_is_not_trusted(cache_dir: Path) -> None:
    trust = _cadir.public_trust()
    assert trust.capath is not None
    _no_posix.REAL["chown"](cache_dir, 65534, 65534)
    _cadir.forget()
    if _no_posix.ACTIVE:  # as on Windows: files have no owners to check
        assert _cadir.public_trust() == trust
        return
    assert _cadir.public_trust() == _cadir.TrustLocation(cafile=certifi.where())


def test_a_cache_root_made_too_open_by_its_owner_is_closed_again(cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True, mode=0o755)
    os.chmod(cache_dir, 0o755)
    assert _cadir.public_trust().capath is not None
    # as on Windows (no mode bits): nothing to close
    assert cache_dir.stat().st_mode & 0o777 == (0o755 if _no_posix.ACTIVE else 0o700)


# -- caches never let one caller change another's context -------------------------------------


def test_changing_a_context_does_not_change_the_next_one(pki, tls_server) -> None:
    kwargs = {"ca": pki.ca.cert_path, "cert": pki.client.cert_path, "key": pki.client.key_path}
    first = tlsconnect.ssl_context("kafka", **kwargs)
    first.check_hostname = False
    first.verify_mode = ssl.CERT_NONE
    first.load_verify_locations(cafile=str(pki.other_ca.cert_path))
    second = tlsconnect.ssl_context("kafka", **kwargs)
    assert second is not first
    assert second.verify_mode == ssl.CERT_REQUIRED and second.check_hostname
    with pytest.raises(ssl.SSLCertVerificationError):
        _talk(second, tls_server("othersigned").address)
    assert _talk(second, tls_server("good").address) == b"OK\n"


def test_public_contexts_are_separate_too(cache_dir: Path) -> None:
    first = tlsconnect.ssl_context("redis")
    first.check_hostname = False
    first.verify_mode = ssl.CERT_NONE
    second = tlsconnect.ssl_context("redis")
    assert second.verify_mode == ssl.CERT_REQUIRED and second.check_hostname


def test_shared_contexts_are_one_per_plan_and_refuse_changes(pki, tls_server) -> None:
    kwargs = {"ca": pki.ca.cert_path, "cert": pki.client.cert_path, "key": pki.client.key_path}
    shared = tlsconnect.ssl_context("kafka", shared=True, **kwargs)
    assert isinstance(shared, SharedSSLContext)
    assert tlsconnect.ssl_context("kafka", shared=True, **kwargs) is shared
    assert tlsconnect.ssl_context("kafka", **kwargs) is not shared  # not shared by default
    assert tlsconnect.ssl_context("kafka", shared=True, sslmode="verify-ca", **kwargs) is not shared
    with pytest.raises(AttributeError, match="shared"):
        shared.verify_mode = ssl.CERT_NONE
    with pytest.raises(AttributeError, match="shared"):
        shared.check_hostname = False
    with pytest.raises(AttributeError, match="shared"):
        shared.options |= ssl.OP_NO_TLSv1_3
    with pytest.raises(TypeError, match="shared"):
        shared.load_verify_locations(cafile=str(pki.other_ca.cert_path))
    with pytest.raises(TypeError, match="shared"):
        shared.set_ciphers("ALL")
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    assert _talk(shared, tls_server("good").address) == b"OK\n"
    with pytest.raises(ssl.SSLCertVerificationError):
        _talk(shared, tls_server("othersigned").address)


def test_a_shared_public_context_verifies(pki, tls_server, cache_dir: Path) -> None:
    shared = tlsconnect.ssl_context("redis", shared=True, ca=pki.ca.cert_path)
    assert tlsconnect.ssl_context("redis", shared=True, ca=pki.ca.cert_path) is shared
    assert _talk(shared, tls_server("good").address) == b"OK\n"


# -- the credentials cache ---------------------------------------------------------------------


def test_same_text_is_parsed_once(pki) -> None:
    ca = pki.ca.cert_pem.decode()
    one = _cache.cached_credentials(ca=ca, cert=None, key=None, key_password=None)
    two = _cache.cached_credentials(ca=ca, cert=None, key=None, key_password=None)
    assert one is two
    other = _cache.cached_credentials(
        ca=pki.other_ca.cert_pem, cert=None, key=None, key_password=None
    )
    assert other is not one and other.ca_certificates != one.ca_certificates


def test_an_edited_file_is_read_again(pki, tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(pki.ca.cert_pem)
    before = _cache.cached_credentials(ca=path, cert=None, key=None, key_password=None)
    assert _cache.cached_credentials(ca=path, cert=None, key=None, key_password=None) is before
    replacement = tmp_path / "new.pem"
    replacement.write_bytes(pki.other_ca.cert_pem)
    os.replace(replacement, path)
    after = _cache.cached_credentials(ca=path, cert=None, key=None, key_password=None)
    assert after.ca_certificates[0].subject == pki.other_ca.cert.subject


def test_a_key_made_readable_by_others_is_seen_again(pki, tmp_path: Path) -> None:
    key = tmp_path / "service.key"
    key.write_bytes(pki.client.key_pem)
    os.chmod(key, 0o600)
    args = {"ca": None, "cert": pki.client.cert_path, "key_password": None}
    private = _cache.cached_credentials(key=key, **args)
    assert private.key_file_mode() == 0o600
    os.chmod(key, 0o644)
    again = _cache.cached_credentials(key=key, **args)
    assert again is not private  # read again
    # as on Windows (no mode bits), a key is never reported as readable by others
    assert again.key_file_mode() == (0o600 if _no_posix.ACTIVE else 0o644)


def test_expiry_warnings_come_on_every_call(pki) -> None:
    for _ in range(3):
        with pytest.warns(CertificateExpiryWarning):
            tlsconnect.ssl_context("postgresql", ca=pki.expired.cert_path)


def test_errors_are_never_cached(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    for _ in range(2):
        with pytest.raises(ConfigError):
            tlsconnect.ssl_context("postgresql", ca=bad)


def test_a_key_whose_numbers_disagree_is_refused(pki) -> None:
    numbers = pki.client.key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d,
        dmp1=numbers.dmp1 ^ 2,  # a damaged CRT value; the public half still matches
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem = broken.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match="not a valid"):
        tlsconnect.Credentials(cert=pki.client.cert_path, key=pem)


# -- import cost -------------------------------------------------------------------------------


def test_import_loads_neither_cryptography_nor_a_driver() -> None:
    code = (
        "import sys, tlsconnect\n"
        "from tlsconnect import ssl_context, psycopg_params, kafka_python_config, resolve\n"
        "heavy = ('cryptography', 'psycopg', 'kafka', 'aiokafka', 'confluent_kafka')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    for name in tlsconnect.__all__:
        assert getattr(tlsconnect, name) is not None
    assert set(tlsconnect.__all__) <= set(dir(tlsconnect))
    with pytest.raises(AttributeError):
        tlsconnect.no_such_name  # noqa: B018
