"""Where users run it: capabilities looked up, no key on disk longer than it is needed.

* The library's path without the POSIX-only names (as on Windows), in a fresh process.
* A context built without memory files leaves no file holding the key.
* The private files of a process killed with SIGKILL are removed by the next process that
  needs a private directory; a live process's are not.
* ``trust="system"`` where the operating system's CAs are not a file: truststore for
  contexts, a clear error for drivers that take only a file.

This file runs in both modes of the suite (``TLSCONNECT_TEST_NO_POSIX=1``: see
``tests/_no_posix.py``); where the two differ, each asserts its own behaviour. The tests
of killed and live processes run their processes with every name present (reaping needs
an advisory lock: ``fcntl`` here, ``msvcrt`` on Windows).
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time

import pytest
from cryptography.hazmat.primitives import serialization

import _no_posix
import tlsconnect
from tlsconnect import ConfigError, Credentials, KeyPermissionWarning, MissingDependencyError
from tlsconnect._files import (
    NEVER_EXISTS,
    RUN_DIR_ENV,
    memory_files_available,
    owner_uid,
    private_dir,
)

TESTS = pathlib.Path(__file__).resolve().parent


def connect(context: ssl.SSLContext, port: int, host: str = "localhost") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.recv(3)


def pg_conninfo(server, user: str = "avnadmin") -> str:
    return f"host=localhost port={server.port} dbname=defaultdb user={user}"


def key_forms(pem: bytes) -> list[bytes]:
    """The ways a key's secret could sit in a file: its PEM body and its DER."""
    key = serialization.load_pem_private_key(pem, password=None)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    body = b"".join(pem.strip().splitlines()[1:-1])
    return [der, body[:64], pem.strip().splitlines()[1]]


def files_holding(root: pathlib.Path, secrets: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if any(s in data for s in secrets):
                    found.append(str(path))
        except OSError:
            continue
    return found


# -- the library's path without the POSIX-only names ------------------------------------

WITHOUT_POSIX = textwrap.dedent(
    """
    import os, sys, warnings
    sys.path.insert(0, {tests!r})
    import _no_posix
    _no_posix._remove()  # before tlsconnect is imported: the path a Windows user gets
    os.environ["LOCALAPPDATA"] = {local!r}
    warnings.simplefilter("error")
    import psycopg, socket, ssl
    import tlsconnect
    from tlsconnect import _files
    _files.PROC_SELF_FD = "/nonexistent"
    assert not hasattr(os, "geteuid") and not _files.memory_files_available()

    def connect(context, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.version()

    # a public-CA service's context (given the project CA too: both are trusted)
    print("public", connect(tlsconnect.ssl_context("redis", ca={ca!r}), {plain}))
    for attempt in (1, 2):  # a client pair, twice (the second finds what the first left)
        ctx = tlsconnect.ssl_context("kafka", ca={ca!r}, cert={cert!r}, key={key!r})
        print("pair", attempt, connect(ctx, {mutual}))
    for attempt in (1, 2):  # libpq parameters with key material, twice
        params = tlsconnect.params(
            "psycopg", {conninfo!r}, ca={ca!r}, cert={cert_pem!r}, key={key_pem!r}
        )
        with psycopg.connect(**params, connect_timeout=10) as conn:
            row = conn.execute("SELECT ssl, client_dn FROM pg_stat_ssl "
                               "WHERE pid = pg_backend_pid()").fetchone()
        print("libpq", attempt, row[0], os.path.dirname(params["sslkey"]), "|", row[1])
    """
)


def test_the_library_path_works_with_the_posix_only_names_removed(pki, tls_server, pg, tmp_path):
    plain = tls_server("good")
    mutual = tls_server("good", require_client_cert=True)
    local = tmp_path / "LocalAppData"
    local.mkdir()
    program = WITHOUT_POSIX.format(
        tests=str(TESTS),
        local=str(local),
        ca=str(pki.ca_pem),
        cert=str(pki.client.cert_path),
        key=str(pki.client.key_path),
        cert_pem=pki.client.cert_pem.decode(),
        key_pem=pki.client.key_pem.decode(),
        plain=plain.port,
        mutual=mutual.port,
        conninfo=pg_conninfo(pg.good),
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("public TLSv1.")
    assert [line.split()[:2] for line in lines[1:3]] == [["pair", "1"], ["pair", "2"]]
    # the server saw the client certificate on both connections
    assert [h.peer_serial for h in mutual.handshakes[-2:]] == [pki.client.cert.serial_number] * 2
    libpq = [line.split(" | ", 1) for line in lines[3:5]]
    assert [row[0].split()[:3] for row in libpq] == [["libpq", "1", "True"], ["libpq", "2", "True"]]
    assert all("CN=" in row[1] for row in libpq), lines  # client_dn: the certificate was sent
    # the private files went under the user's local application data, as on Windows
    assert pathlib.Path(libpq[0][0].split()[3]).parent == local / "tlsconnect" / "run"


def test_never_existing_paths_lie_below_a_file_that_always_exists():
    for path in NEVER_EXISTS.values():
        parent = os.path.dirname(path)
        assert os.path.exists(parent) and not os.path.isdir(parent), path
        assert not os.path.exists(path)


def test_a_key_that_others_could_read_is_warned_about_only_where_mode_bits_exist(pki, tmp_path):
    loose = tmp_path / "client.key"
    loose.write_bytes(pki.client.key_pem)
    loose.chmod(0o644)
    args = ("psycopg", "host=localhost dbname=defaultdb")
    options = {"ca": pki.ca_pem, "cert": pki.client.cert_path, "key": loose}
    if _no_posix.ACTIVE:  # as on Windows: no mode bits, no owners, nothing to warn about
        params = tlsconnect.params(*args, **options)
        assert params["sslkey"] == str(loose)
    else:
        with pytest.warns(KeyPermissionWarning, match="chmod 600"):
            params = tlsconnect.params(*args, **options)
        assert params["sslkey"] != str(loose)


def test_the_private_directory_is_private_as_the_platform_defines_it():
    directory = private_dir()
    parent = directory.parent
    if _no_posix.ACTIVE:
        assert owner_uid() is None and not memory_files_available()
        assert parent == pathlib.Path(os.environ["LOCALAPPDATA"], "tlsconnect", "run")
    else:
        info = os.lstat(directory)
        assert info.st_uid == _no_posix.uid() and info.st_mode & 0o077 == 0
        parent_info = os.lstat(parent)
        assert parent_info.st_uid == _no_posix.uid() and parent_info.st_mode & 0o077 == 0


# -- no key on disk longer than it is needed ----------------------------------------------


def test_a_context_built_without_memory_files_leaves_no_key_on_disk(pki, tls_server, monkeypatch):
    monkeypatch.delattr(os, "memfd_create", raising=False)
    from tlsconnect import _files

    assert not _files.memory_files_available()
    root = private_dir().parent
    secrets = key_forms(pki.client.key_pem)
    before = set(files_holding(root, secrets))  # libpq copies other tests asked for
    creds = Credentials(ca=pki.ca.cert_pem, cert=pki.client.cert_pem, key=pki.client.key_pem)
    written = []
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):  # records what was on disk while it was loaded
        assert pathlib.Path(path).parent == private_dir()  # nowhere else
        written.append(pathlib.Path(path).read_bytes())
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    context = tlsconnect.ssl_context("kafka", credentials=creds)
    monkeypatch.setattr(os, "unlink", real_unlink)
    assert any(pki.client.key_pem.strip() in data for data in written)  # it was a file
    assert set(files_holding(root, secrets)) == before  # and is gone, the context built
    server = tls_server("good", require_client_cert=True)
    connect(context, server.port)  # the context holds the key: the server got the pair
    time.sleep(0.1)
    assert server.handshakes[-1].peer_serial == pki.client.cert.serial_number


def test_the_key_files_of_a_killed_process_are_removed_by_the_next_one(pki, tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, RUN_DIR_ENV: str(runs)}
    child = textwrap.dedent(
        f"""
        import os, sys
        import tlsconnect
        params = tlsconnect.params("psycopg", "host=db.example.com",
                                   ca={pki.ca.cert_pem.decode()!r},
                                   cert={pki.client.cert_pem.decode()!r},
                                   key={pki.client.key_pem.decode()!r})
        print(params["sslkey"], flush=True)
        sys.stdin.read()  # until the test closes it, or kills us
        """
    )

    def start() -> tuple[subprocess.Popen, pathlib.Path]:
        proc = subprocess.Popen(
            [sys.executable, "-c", child],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = proc.stdout.readline().strip()
        assert line, "the child printed no key path"
        return proc, pathlib.Path(line)

    killed, killed_key = start()
    alive, alive_key = start()
    try:
        assert killed_key.exists() and alive_key.exists()
        assert killed_key.parent != alive_key.parent
        killed.send_signal(signal.SIGKILL)  # no atexit, no clean-up of its own
        killed.wait(timeout=30)
        assert killed_key.exists()  # what SIGKILL leaves behind
        # The next process that needs a private directory reaps it.
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import tlsconnect; tlsconnect.params('psycopg', 'host=x', "
                f"ca={pki.ca.cert_pem.decode()!r})",
            ],
            env=env,
            check=True,
            timeout=60,
        )
        assert not killed_key.parent.exists()
        assert alive_key.exists()  # a live process's files are never touched
    finally:
        alive.stdin.close()
        alive.wait(timeout=30)
        if killed.poll() is None:
            killed.kill()
            killed.wait(timeout=30)
        for proc in (killed, alive):
            proc.stdout.close()
            if not proc.stdin.closed:
                proc.stdin.close()
    assert not alive_key.parent.exists()  # removed at its own exit
    assert files_holding(runs, key_forms(pki.client.key_pem)) == []


def test_importing_tlsconnect_reaps_nothing_until_a_private_directory_is_needed(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir(mode=0o700)
    dead = runs / "run-deadbeef"
    dead.mkdir(mode=0o700)
    (dead / ".lock").write_text("12345\n")  # its owner's lock is gone: a dead process's
    env = {**os.environ, RUN_DIR_ENV: str(runs)}
    code = "import tlsconnect; tlsconnect.ssl_context('redis'); print('ok')"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert dead.exists()  # import and a context without files: the cold start is unchanged
    code = "from tlsconnect._files import private_dir; print(private_dir())"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert not dead.exists()


def private_dir_of_a_new_process(runs: pathlib.Path) -> pathlib.Path:
    code = "from tlsconnect._files import private_dir; print(private_dir())"
    env = {**os.environ, RUN_DIR_ENV: str(runs)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, timeout=60, capture_output=True
    )
    return pathlib.Path(done.stdout.decode().strip())


def test_a_directory_just_made_is_not_taken_for_a_dead_ones(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir(mode=0o700)
    young = runs / "run-young"  # its process is between making it and locking it
    young.mkdir(mode=0o700)
    old = runs / "run-old"  # no lock for an hour: its process died before locking it
    old.mkdir(mode=0o700)
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    made = private_dir_of_a_new_process(runs)
    assert made.parent == runs and not made.exists()  # its own, removed at its exit
    assert young.exists() and not old.exists()


def test_the_parent_of_the_private_directories_must_be_private(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir(mode=0o755)
    runs.chmod(0o755)  # ours, but others can enter it: closed before use
    assert private_dir_of_a_new_process(runs).parent == runs
    assert runs.stat().st_mode & 0o077 == 0
    if _no_posix.uid() != 0:
        return  # giving the directory to someone else needs root
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    _no_posix.REAL["chown"](planted, 65534, 65534)  # present in either mode
    (planted / "run-victim").mkdir()
    made = private_dir_of_a_new_process(planted)
    assert made.parent != planted  # someone else's directory is never used
    assert (planted / "run-victim").exists()


# -- trust="system" where the operating system's CAs are not a file ----------------------


@pytest.fixture
def os_store_not_a_file(monkeypatch):
    """OpenSSL's default paths name no file (as on Windows and with the macOS Keychain)
    while tlsconnect decides; restored for the handshake, so that truststore's own
    Linux backend reads SSL_CERT_FILE."""
    real = ssl.get_default_verify_paths
    nowhere = ssl.DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "/nonexistent/cert.pem", "SSL_CERT_DIR", "/nonexistent/certs")  # fmt: skip

    def decide(function, *args, **kwargs):
        monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: nowhere)
        try:
            return function(*args, **kwargs)
        finally:
            monkeypatch.setattr(ssl, "get_default_verify_paths", real)

    return decide


def test_system_trust_verifies_through_truststore_where_the_store_is_not_a_file(
    pki, tls_server, os_store_not_a_file, monkeypatch
):
    import truststore

    server = tls_server("good")
    context = os_store_not_a_file(tlsconnect.ssl_context, "redis", trust="system")
    assert isinstance(context, truststore.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    # The operating system's store (here: the distribution's bundle) does not hold the
    # test CA: refused, by verification.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        connect(context, server.port)
    assert refused.value.verify_code == 20  # unable to get local issuer certificate
    # A store that holds it: verified and connected.
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    context = os_store_not_a_file(tlsconnect.ssl_context, "redis", trust="system")
    connect(context, server.port)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch|match"):
        connect(context, server.port, host="wrong.example.com")


def test_system_trust_for_a_driver_that_takes_only_a_file_says_why(os_store_not_a_file):
    with pytest.raises(ConfigError, match="not in a file") as raised:
        os_store_not_a_file(tlsconnect.params, "requests", "https://h.example.com", trust="system")
    assert "SSLContext" in str(raised.value) and "trust='public'" in str(raised.value)


def test_system_trust_without_the_extra_names_what_to_install(os_store_not_a_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "truststore", None)
    with pytest.raises(MissingDependencyError, match=r"tlsconnect\[system\]"):
        os_store_not_a_file(tlsconnect.ssl_context, "redis", trust="system")


def test_system_trust_where_the_store_is_a_file_keeps_reading_it(pki, tls_server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    context = tlsconnect.ssl_context("redis", trust="system")
    assert type(context).__module__.startswith("tlsconnect")  # not truststore's
    connect(context, tls_server("good").port)
    params = tlsconnect.params("requests", "https://h.example.com", trust="system")
    assert params["verify"] == str(pki.ca_pem)
