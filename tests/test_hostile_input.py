"""Hostile and broken input: a ConfigError naming the input and the fix, never the network.

Each broken file is handed to every public entry point that takes material
(``Credentials``, ``ssl_context``, ``psycopg_params``, ``kafka_python_config``) and to
``tlsconnect check`` pointed at a listening socket, which must never see a connection.
Property-based tests (hypothesis) then feed arbitrary bytes, text, conninfo strings, URIs
and bootstrap lists: nothing but ConfigError may escape, and valid conninfo parses as
psycopg's own ``conninfo_to_dict`` does.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg.conninfo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _no_posix
import tlsconnect
from tlsconnect import ConfigError, Credentials, KeyPermissionWarning
from tlsconnect._cli import main as cli_main
from tlsconnect._conninfo import format_conninfo, parse_conninfo
from tlsconnect._target import parse_bootstrap

HINTS = "avn service user-creds-download|pass |check |chmod|use |write |fix "

# -- hostile files ---------------------------------------------------------------------


def _der(pem: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def _der_key(pem: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem, password=None)
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# (id, role, builder(pki, dir) -> (path, kwargs for Credentials), expected message)
FileCase = tuple[str, Callable[..., tuple[Path, dict]], str]


def _ca(content: Callable[..., bytes]) -> Callable[..., tuple[Path, dict]]:
    def build(pki, directory: Path) -> tuple[Path, dict]:
        path = directory / "ca.pem"
        path.write_bytes(content(pki))
        return path, {"ca": path}

    return build


def _cert(content: Callable[..., bytes]) -> Callable[..., tuple[Path, dict]]:
    def build(pki, directory: Path) -> tuple[Path, dict]:
        path = directory / "service.cert"
        path.write_bytes(content(pki))
        return path, {"ca": pki.ca_pem, "cert": path, "key": pki.client.key_path}

    return build


def _key(content: Callable[..., bytes], **extra: object) -> Callable[..., tuple[Path, dict]]:
    def build(pki, directory: Path) -> tuple[Path, dict]:
        path = directory / "service.key"
        path.write_bytes(content(pki))
        path.chmod(0o600)
        return path, {"ca": pki.ca_pem, "cert": pki.client.cert_path, "key": path, **extra}

    return build


def _special(kind: str) -> Callable[..., tuple[Path, dict]]:
    def build(pki, directory: Path) -> tuple[Path, dict]:
        path = directory / "ca.pem"
        if kind == "directory":
            path.mkdir()
        elif kind == "symlink-loop":
            path.symlink_to(directory / "other.pem")
            (directory / "other.pem").symlink_to(path)
        elif kind == "dangling-symlink":
            path.symlink_to(directory / "gone.pem")
        elif kind == "huge":
            with open(path, "wb") as handle:
                handle.truncate(64 * 1024 * 1024)
        elif kind == "fifo":
            os.mkfifo(path)
        return path, {"ca": path}

    return build


FILE_CASES: list[FileCase] = [
    ("empty", _ca(lambda pki: b""), "is empty"),
    ("whitespace-only", _ca(lambda pki: b"\n \t\n"), "is empty"),
    ("truncated-pem", _ca(lambda pki: pki.ca.cert_pem[:300]), "no complete PEM certificate"),
    ("truncated-der", _ca(lambda pki: _der(pki.ca.cert_pem)[:300]), "neither a PEM nor a DER"),
    ("binary-garbage", _ca(lambda pki: bytes(range(256)) * 8), "neither a PEM nor a DER"),
    (
        "corrupted-base64",
        _ca(lambda pki: pki.ca.cert_pem.replace(b"M", b"#", 3)),
        "malformed PEM",
    ),
    ("pem-key-as-ca", _ca(lambda pki: pki.client.key_pem), "holds a private key"),
    ("der-key-as-ca", _ca(lambda pki: _der_key(pki.client.key_pem)), "holds a private key"),
    ("pem-key-as-cert", _cert(lambda pki: pki.client.key_pem), "holds a private key"),
    ("pem-cert-as-key", _key(lambda pki: pki.client.cert_pem), "holds a certificate"),
    ("der-cert-as-key", _key(lambda pki: _der(pki.client.cert_pem)), "holds a certificate"),
    ("truncated-key", _key(lambda pki: pki.client.key_pem[:200]), "no complete PEM private key"),
    ("mismatched-key", _key(lambda pki: pki.other_client.key_pem), "does not belong"),
    (
        "openssh-key",
        _key(
            lambda pki: (
                b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
            )
        ),
        "OpenSSH key",
    ),
    (
        "two-keys",
        _key(lambda pki: pki.client.key_pem + pki.other_client.key_pem),
        "holds 2 private keys",
    ),
    (
        "encrypted-key-without-password",
        _key(lambda pki: pki.client_key_encrypted_path.read_bytes()),
        "encrypted and no key_password",
    ),
    (
        "encrypted-key-with-wrong-password",
        _key(lambda pki: pki.client_key_encrypted_path.read_bytes(), key_password="wrong"),
        "could not be decrypted",
    ),
    ("directory", _special("directory"), "is a directory"),
    ("symlink-loop", _special("symlink-loop"), "cannot be read"),
    ("dangling-symlink", _special("dangling-symlink"), "does not exist"),
    ("huge-sparse-file", _special("huge"), "far larger"),
    ("fifo", _special("fifo"), "not a regular file"),
]


@pytest.fixture
def listener() -> Iterator[tuple[int, list[object]]]:
    """A TCP port that records every connection made to it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    seen: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            seen.append(addr)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join(2)
    server.close()


ENTRY_POINTS: dict[str, Callable[[dict, int], object]] = {
    "Credentials": lambda kw, port: Credentials(**kw),
    "ssl_context": lambda kw, port: tlsconnect.ssl_context("postgresql", **kw),
    "psycopg_params": lambda kw, port: tlsconnect.psycopg_params(
        f"host=127.0.0.1 port={port}", **kw
    ),
    # with SASL when the case gives no client certificate, so that only the file is wrong
    "kafka_python_config": lambda kw, port: tlsconnect.kafka_python_config(
        f"127.0.0.1:{port}",
        **kw,
        **({} if "cert" in kw else {"sasl_username": "u", "sasl_password": "p"}),
    ),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(("case", "build", "expected"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_hostile_file_is_a_config_error_naming_it_and_the_fix(
    case, build, expected, entry, pki, tmp_path, listener
):
    port, seen = listener
    path, kwargs = build(pki, tmp_path)
    with pytest.raises(ConfigError) as info:
        ENTRY_POINTS[entry](kwargs, port)
    message = str(info.value)
    assert re.search(expected, message), message
    assert str(path) in message, message
    assert re.search(HINTS, message), message
    assert seen == []


CLI_CASES = [c for c in FILE_CASES if c[0] != "encrypted-key-with-wrong-password"]


@pytest.mark.parametrize(("case", "build", "expected"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_check_refuses_hostile_files_before_connecting(
    case, build, expected, pki, tmp_path, listener, capsys
):
    port, seen = listener
    path, kwargs = build(pki, tmp_path)
    argv = ["check", f"127.0.0.1:{port}", "--service", "postgresql", "--timeout", "2"]
    for name in ("ca", "cert", "key"):
        if name in kwargs:
            argv += [f"--{name}", str(kwargs[name])]
    assert cli_main(argv) == 2
    assert seen == []
    assert str(path) in capsys.readouterr().err


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory everyone may enter (pytest's tmp_path is under a 0700 directory)."""
    import shutil
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="tlsconnect-hostile-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("role", ["ca", "cert", "key"])
def test_unreadable_file_is_named_with_the_fix(pki, public_dir, role):
    """The file itself (not a directory above it) is unreadable. As root every file is
    readable, so the check runs in a forked child as nobody (65534)."""
    from test_material import _config_error_as

    files = {}
    for name, content in (
        ("ca", pki.ca.cert_pem),
        ("cert", pki.client.cert_pem),
        ("key", pki.client.key_pem),
    ):
        files[name] = public_dir / f"{name}.pem"
        files[name].write_bytes(content)
        files[name].chmod(0o644)
    root = _no_posix.uid() == 0  # the real uid, also where the library cannot see it
    files[role].chmod(0o600 if root else 0)
    kwargs = {"ca": files["ca"]} if role == "ca" else {"cert": files["cert"], "key": files["key"]}
    message = _config_error_as(65534 if root else None, **kwargs)
    assert f"'{files[role]}' is not readable by this user; fix its permissions" in message
    assert "chmod 600" in message


def test_group_readable_key_is_a_documented_warning_not_an_error(pki, tmp_path):
    key = tmp_path / "service.key"
    key.write_bytes(pki.client.key_pem)
    key.chmod(0o644)
    if _no_posix.ACTIVE:  # as on Windows: no mode bits, no warning, the file as it is
        params = tlsconnect.psycopg_params(
            "host=localhost", ca=pki.ca_pem, cert=pki.client.cert_path, key=key
        )
        assert params["sslkey"] == str(key)
        return
    with pytest.warns(KeyPermissionWarning, match=re.escape(f"chmod 600 '{key}'")):
        params = tlsconnect.psycopg_params(
            "host=localhost", ca=pki.ca_pem, cert=pki.client.cert_path, key=key
        )
    assert params["sslkey"] != str(key)
    assert os.stat(params["sslkey"]).st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "name", ["répertoire avec espaces", "ключи", "🔐 tls", "a'quote\"b", "back\\slash"]
)
def test_unicode_spaces_and_quotes_in_paths_work_and_are_named_exactly(pki, tmp_path, name):
    directory = tmp_path / name
    directory.mkdir()
    ca = directory / "ca.pem"
    ca.write_bytes(pki.ca.cert_pem)
    params = tlsconnect.psycopg_params("host=localhost", ca=ca)
    assert params["sslrootcert"] == str(ca)
    missing = directory / "missing.pem"
    with pytest.raises(ConfigError) as info:
        Credentials(ca=missing)
    assert f"'{missing}'" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "empty path"),
        ("   ", "empty path"),
        ("/tmp/ca\x00.pem", "NUL character"),
        (42, "path, PEM text or bytes"),
        ("-----BEGIN CERTIFICATE-----\né\n-----END CERTIFICATE-----\n", "cannot be in PEM"),
        (b"x" * (5 * 1024 * 1024), "larger than"),
    ],
    ids=[
        "empty-string",
        "blank-string",
        "nul-in-path",
        "wrong-type",
        "non-ascii-pem-text",
        "huge-bytes",
    ],
)
def test_odd_values_are_config_errors(value, expected):
    with pytest.raises(ConfigError, match=expected):
        Credentials(ca=value)


# -- conninfo strings and URIs ------------------------------------------------------


VALID_CONNINFO = [
    "host=db.example.com port=5432 dbname=defaultdb user=avnadmin",
    "host='my host' application_name='it\\'s'",
    "password='a\\\\b c' options='-c search_path=public'",
    "host=a\\ b dbname=x\\'y",
    "host = spaced   port =  6543",
    "host=h1,h2,h3 port=5432,5433,5434",
    "host=::1 port=5432",
    "host= dbname=''",
    "postgresql://avnadmin:p%40ss%2Fw%3Ard@db.example.com:25060/defaultdb?sslmode=require",
    "postgres://u@[::1]:5432/db",
    "postgresql://u@[2001:db8::1]:5432,[::1]:6543,plain:7/db",
    "postgresql://h1:1,h2:2/db?application_name=tls%20test&connect_timeout=7",
    "postgresql://%68ost/d%62?options=-c%20x%3Dy",
    "postgresql:///db?host=/var/run/postgresql",
    "postgresql://h/db?ssl=true",
    "postgresql://h/",
    "postgresql://",
]


@pytest.mark.parametrize("conninfo", VALID_CONNINFO)
def test_valid_conninfo_parses_as_libpq_does(conninfo):
    ours = parse_conninfo(conninfo)
    theirs = psycopg.conninfo.conninfo_to_dict(conninfo)
    if "ssl=true" in conninfo:  # libpq's URI alias
        assert ours == {**{k: v for k, v in theirs.items() if k != "ssl"}, "sslmode": "require"}
    else:
        assert ours == theirs
    assert parse_conninfo(format_conninfo(ours)) == ours


INVALID_CONNINFO = [
    ("host='never closed", "never closed"),
    ("host", "missing '='"),
    ("=value", "no key"),
    ("postgresql://h/db?param", "has no '='"),
    ("postgresql://h/%zz", "percent-escape"),
    ("postgresql://h/%ff%fe", "not UTF-8"),
    ("postgresql://[::1/db", "never closes"),
    ("postgresql://[::1]x/db", "after ']'"),
    ("postgresql://h:port/db", "not a number"),
    ("postgresql://h:١٢/db", "not a number"),
    ("mysql://h/db", "not PostgreSQL's"),
]


@pytest.mark.parametrize(("conninfo", "expected"), INVALID_CONNINFO)
def test_invalid_conninfo_is_a_config_error_saying_what_is_wrong(conninfo, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_conninfo(conninfo)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        tlsconnect.psycopg_params(conninfo)


# -- bootstrap lists --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" a:1 , a:1,b:2 ", ["a:1", "b:2"]),
        (["a:1", " a:1 ", "a:01"], ["a:1"]),
        ("kafka://a:1/, ssl://b:2", ["a:1", "b:2"]),
        ("[::1]:9092,[::1]:9092", ["[::1]:9092"]),
        (["a:1,b:2", "c:3"], ["a:1", "b:2", "c:3"]),
    ],
)
def test_bootstrap_lists_with_spaces_and_duplicates_are_cleaned(value, expected):
    assert parse_bootstrap(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" , ,", "is empty"),
        ("a", "has no port"),
        ("::1:9092", "[addr]:port"),
        ("[::1]9092", "[addr]:port"),
        ("a b:1", "no valid host"),
        ("a:0", "1 to 65535"),
        ("a:65536", "1 to 65535"),
        ("a:١", "1 to 65535"),
        ("a:+1", "1 to 65535"),
        (["a:1", 5], "must be strings"),
        (9092, "must be 'host:port'"),
    ],
)
def test_bad_bootstrap_lists_name_the_entry_and_the_fix(value, expected, pki):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_bootstrap(value)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        tlsconnect.kafka_python_config(
            value, ca=pki.ca_pem, cert=pki.client.cert_path, key=pki.client.key_path
        )


# -- property-based tests -------------------------------------------------------------

FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _only_config_error(call: Callable[[], object]) -> None:
    with contextlib.suppress(ConfigError):
        call()


@FAST
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_as_any_material_raise_only_config_error(data):
    _only_config_error(lambda: Credentials(ca=data))
    _only_config_error(lambda: Credentials(cert=data, key=data))


@FAST
@given(st.text(max_size=2000))
def test_arbitrary_pem_like_text_raises_only_config_error(text):
    for label in ("CERTIFICATE", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY"):
        pem = f"-----BEGIN {label}-----\n{text}\n-----END {label}-----\n"
        _only_config_error(lambda pem=pem: Credentials(ca=pem))
        _only_config_error(lambda pem=pem: Credentials(cert=pem, key=pem, key_password="x"))


@pytest.fixture(scope="module")
def real_pem(pki) -> tuple[bytes, bytes]:
    return pki.client.cert_pem, pki.client.key_pem


@FAST
@given(data=st.data())
def test_mutated_real_material_raises_only_config_error(data, real_pem):
    """Truncations and byte flips of a real certificate and key: either still valid, or a
    ConfigError; never another exception (and no expiry warning for garbage)."""
    cert, key = real_pem
    which = data.draw(st.sampled_from(["cert", "key"]))
    source = bytearray(cert if which == "cert" else key)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(source) - 1))
        source[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(source)))
    mutated = bytes(source[:cut])
    if which == "cert":
        _only_config_error(lambda: Credentials(cert=mutated, key=key))
    else:
        _only_config_error(lambda: Credentials(cert=cert, key=mutated))


LIBPQ_KEYWORDS = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
    "connect_timeout",
    "sslmode",
    "target_session_attrs",
]
VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


@FAST
@given(st.dictionaries(st.sampled_from(LIBPQ_KEYWORDS), VALUES, max_size=6))
def test_format_then_parse_round_trips_and_agrees_with_psycopg(params):
    text = format_conninfo(params)
    assert parse_conninfo(text) == params
    assert psycopg.conninfo.conninfo_to_dict(text) == params


@FAST
@given(st.text(max_size=200))
def test_arbitrary_conninfo_raises_only_config_error_and_agrees_when_valid(text):
    try:
        ours = parse_conninfo(text)
    except ConfigError:
        return
    try:
        theirs = psycopg.conninfo.conninfo_to_dict(text)
    except psycopg.ProgrammingError:
        return  # e.g. an unknown keyword, which libpq checks and this parser leaves to it
    if "ssl" in theirs:
        return
    assert ours == theirs


URI_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)
HOSTS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9\-]{0,10}(\.[a-z]{2,5})?", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
)


@FAST
@given(
    user=st.none() | URI_TEXT,
    password=st.none() | URI_TEXT,
    hosts=st.lists(st.tuples(HOSTS, st.none() | st.integers(1, 65535)), min_size=1, max_size=3),
    dbname=st.none() | URI_TEXT,
    app=st.none() | URI_TEXT,
)
def test_generated_uris_parse_as_psycopg_parses_them(user, password, hosts, dbname, app):
    from urllib.parse import quote

    userinfo = ""
    if user is not None:
        userinfo = quote(user, safe="")
        if password is not None:
            userinfo += ":" + quote(password, safe="")
        userinfo += "@"
    authority = ",".join(h + (f":{p}" if p else "") for h, p in hosts)
    uri = f"postgresql://{userinfo}{authority}/"
    if dbname is not None:
        uri += quote(dbname, safe="")
    if app is not None:
        uri += "?application_name=" + quote(app, safe="")
    ours = parse_conninfo(uri)
    assert ours == psycopg.conninfo.conninfo_to_dict(uri)
    assert parse_conninfo(format_conninfo(ours)) == ours


@FAST
@given(st.one_of(st.text(max_size=80), st.lists(st.text(max_size=20), max_size=5)))
def test_bootstrap_parsing_raises_only_config_error(value):
    try:
        servers = parse_bootstrap(value)
    except ConfigError:
        return
    assert servers and len(servers) == len(set(servers))
    for server in servers:
        host, _, port = server.rpartition(":")
        assert host and port.isascii() and port.isdigit() and 0 < int(port) < 65536
        assert parse_bootstrap(server) == [server]


_PEM_REGEX = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_PEM_PIECES = st.sampled_from(
    [
        b"-----",
        b"BEGIN ",
        b"END ",
        b"CERTIFICATE",
        b"PRIVATE KEY",
        b"X",
        b"\n",
        b"\r\n",
        b" ",
        b"MIIB",
        b"a",
        b"-",
    ]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(_PEM_PIECES, max_size=40).map(b"".join))
def test_pem_blocks_finds_exactly_what_the_pem_regular_expression_matches(data):
    from tlsconnect._pem import pem_blocks

    assert pem_blocks(data) == [(m.group(1), m.group(0)) for m in _PEM_REGEX.finditer(data)]
