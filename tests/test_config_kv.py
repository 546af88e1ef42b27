"""``tlsconnect config --driver redis|redis-asyncio|valkey|valkey-asyncio|pymysql|aiomysql``: JSON naming files,
and, where the driver needs a context (or, as redis-py, a connection class) built from
them, a usage note whose lines this test runs as they are printed, against the real
servers."""

from __future__ import annotations

import asyncio
import json
import pathlib
import tempfile
import textwrap

import pytest

from _kv_servers import REDIS_PASSWORD, REDIS_USER, KVServers, kv_servers
from tlsconnect._cli import main
from tlsconnect.testing import quiet_resource_leaks


@pytest.fixture(scope="session")
def kv(pki, mariadb, request) -> KVServers:
    servers = kv_servers(pki, mariadb)
    request.addfinalizer(servers.stop)
    return servers


def config_json(capsys, *argv: str) -> tuple[dict, str]:
    """The JSON printed (with --output-dir: the passwords are written there, never
    printed), with the passwords read back as the printed one-line note says when the
    driver has no recipe of several lines; and standard error."""
    if main(["config", *argv]) == 2:  # a password to write: only with --output-dir
        assert "pass --output-dir DIR" in capsys.readouterr().err
        out = tempfile.mkdtemp(prefix="tlsconnect-config-")
        assert main(["config", *argv, "--output-dir", out]) == 0
    captured = capsys.readouterr()
    cfg = json.loads(captured.out)
    for line in captured.err.splitlines():
        if line.startswith("# use: import pathlib; cfg["):  # only the passwords' read-back
            namespace = {"cfg": cfg}
            exec(line.removeprefix("# use: "), namespace)
            cfg = namespace["cfg"]
    return cfg, captured.err


def run_config(capsys, *argv: str) -> tuple[dict, list[str]]:
    """The JSON printed, and the usage note's code lines (as printed, without '# ')."""
    cfg, err = config_json(capsys, *argv)
    code = [line[4:] for line in err.splitlines() if line.startswith("#   ")]
    return cfg, code


def follow_the_note(code: list[str], cfg: dict, name: str, tmp_path, monkeypatch, tail: str):
    """Write ``cfg`` where the note reads it, then run the note's lines and ``tail``
    (which uses ``client`` or ``connection``); returns what ``tail`` leaves in ``result``."""
    (tmp_path / name).write_text(json.dumps(cfg))
    monkeypatch.chdir(tmp_path)
    body = "\n".join([*code, *textwrap.dedent(tail).strip().splitlines()])
    source = "async def note():\n" + textwrap.indent(body, "    ") + "\n    return result\n"
    namespace: dict = {}
    exec(
        "import json, pathlib, ssl, redis, redis.asyncio, valkey, valkey.asyncio, aiomysql\n"
        + source,
        namespace,
    )
    return asyncio.run(namespace["note"]())


def mtls(pki) -> list[str]:
    return ["--credentials-dir", str(pki.creds_dir)]


def test_redis_config_note_builds_a_client_that_pings(kv, pki, capsys, tmp_path, monkeypatch):
    server = kv.redis("good")
    target = f"rediss://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}/1"
    cfg, code = run_config(capsys, "--driver", "redis", target, "--ca", str(pki.ca_pem))
    # project+public: the CA (its copy in --output-dir, with the password), certifi
    assert pathlib.Path(cfg["tls"]["cafiles"][0]).read_bytes() == pki.ca_pem.read_bytes()
    assert len(cfg["tls"]["cafiles"]) == 2 and cfg["db"] == 1
    assert code[0].startswith('cfg = json.loads(pathlib.Path("redis.json").read_text())')
    result = follow_the_note(
        code,
        cfg,
        "redis.json",
        tmp_path,
        monkeypatch,
        """
        result = client.ping(), client.execute_command("ACL", "WHOAMI")
        client.connection_pool.disconnect()
        """,
    )
    assert result == (True, REDIS_USER.encode())


@pytest.mark.parametrize("driver", ["valkey", "valkey-asyncio"])
def test_valkey_config_note_builds_a_client_that_checks_the_host_name(
    kv, pki, capsys, tmp_path, monkeypatch, driver
):
    """The note's connection class wraps with a context that checks the host name (valkey-py's
    own ssl_check_hostname would not): the good server answers, the wrong-host one is refused."""
    import valkey

    tail = (
        """
        try:
            result = await client.ping(), await client.execute_command("ACL", "WHOAMI")
        finally:
            await client.aclose()
            await client.connection_pool.disconnect()
        """
        if driver.endswith("asyncio")
        else """
        try:
            result = client.ping(), client.execute_command("ACL", "WHOAMI")
        finally:
            client.connection_pool.disconnect()
        """
    )
    name = f"{driver}.json"
    for server_name in ("good", "wronghost"):
        server = kv.redis(server_name)
        target = f"valkeys://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}/1"
        cfg, code = run_config(capsys, "--driver", driver, target, "--ca", str(pki.ca_pem))
        assert cfg["ssl_check_hostname"] is True and cfg["tls"]["check_hostname"] is True
        assert code[0].startswith(f'cfg = json.loads(pathlib.Path("{name}").read_text())')
        if server_name == "good":
            result = follow_the_note(code, cfg, name, tmp_path, monkeypatch, tail)
            assert result == (True, REDIS_USER.encode())
        else:
            cfg["retry"] = None
            # asyncio leaves the transport of a failed handshake to the cyclic GC (a
            # ResourceWarning in whichever test runs it next): collected here, quietly.
            with quiet_resource_leaks():
                with pytest.raises(
                    valkey.exceptions.ConnectionError, match="certificate verify failed"
                ):
                    follow_the_note(code, cfg, name, tmp_path, monkeypatch, tail)


def test_redis_config_note_refuses_another_ca(kv, pki, capsys, tmp_path, monkeypatch):
    import redis

    server = kv.redis("othersigned")
    target = f"rediss://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}"
    cfg, code = run_config(capsys, "--driver", "redis", target, "--ca", str(pki.ca_pem))
    cfg["retry"] = None
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        follow_the_note(
            code,
            cfg,
            "redis.json",
            tmp_path,
            monkeypatch,
            """
            try:
                result = client.ping()
            finally:
                client.connection_pool.disconnect()
            """,
        )


def test_redis_asyncio_config_with_a_client_certificate(kv, pki, capsys, tmp_path, monkeypatch):
    server = kv.redis("mtls")
    target = f"rediss://localhost:{server.port}"
    cfg, code = run_config(capsys, "--driver", "redis-asyncio", target, *mtls(pki))
    assert cfg["tls"]["certfile"].endswith("service.cert")
    assert "BEGIN" not in json.dumps(cfg)  # files are named, material never printed
    result = follow_the_note(
        code,
        cfg,
        "redis-asyncio.json",
        tmp_path,
        monkeypatch,
        """
        result = await client.ping()
        await client.aclose()
        await client.connection_pool.disconnect()
        """,
    )
    assert result is True


def test_redis_config_verify_ca_accepts_the_wrong_host(kv, pki, capsys, tmp_path, monkeypatch):
    server = kv.redis("wronghost")
    target = f"rediss://{REDIS_USER}:{REDIS_PASSWORD}@localhost:{server.port}"
    cfg, code = run_config(
        capsys, "--driver", "redis", target, "--ca", str(pki.ca_pem), "--sslmode", "verify-ca"
    )
    assert cfg["tls"]["check_hostname"] is False and cfg["ssl_check_hostname"] is False
    result = follow_the_note(
        code,
        cfg,
        "redis.json",
        tmp_path,
        monkeypatch,
        """
        result = client.ping()
        client.connection_pool.disconnect()
        """,
    )
    assert result is True


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_pymysql_config_is_pymysqls_own_options_verifying_the_plan(kv, pki, capsys, sslmode):
    import pymysql

    server = kv.mariadb()
    cfg, code = run_config(
        capsys, "--driver", "pymysql", server.url(), "--ca", str(pki.ca_pem), "--sslmode", sslmode
    )
    assert code == []  # PyMySQL's keywords as they are: no note needed
    assert pathlib.Path(cfg["ssl_ca"]).read_bytes() == pki.ca_pem.read_bytes()
    assert cfg["ssl_verify_cert"] is True
    assert cfg["ssl_verify_identity"] is (sslmode == "verify-full")
    with pymysql.connect(**cfg) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        assert cursor.fetchone() == (server.database,)
    other = kv.mariadb("othersigned")
    cfg, _ = run_config(
        capsys, "--driver", "pymysql", other.url(), "--ca", str(pki.ca_pem), "--sslmode", sslmode
    )
    with pytest.raises(pymysql.err.OperationalError, match="CERTIFICATE_VERIFY_FAILED"):
        pymysql.connect(**cfg)


def test_pymysql_config_client_certificate(kv, pki, capsys):
    import pymysql

    server = kv.mariadb()
    cfg, _ = run_config(
        capsys, "--driver", "pymysql", server.url(user=server.x509_user), *mtls(pki)
    )
    assert cfg["ssl_cert"].endswith("service.cert") and cfg["ssl_key"].endswith("service.key")
    with pymysql.connect(**cfg) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        assert cursor.fetchone() == (f"{server.x509_user}@%",)


def test_pymysql_config_require_without_ca_still_requires_tls(kv, capsys):
    import pymysql

    server = kv.mariadb("othersigned")
    cfg, err = config_json(capsys, "--driver", "pymysql", server.url(**{"ssl-mode": "REQUIRED"}))
    assert "NOT verified" in err
    assert cfg["ssl"] == {"verify_mode": False, "check_hostname": False}
    with pymysql.connect(**cfg) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW STATUS LIKE 'Ssl_version'")
        assert cursor.fetchone()[1].startswith("TLSv1")
    plaintext = kv.mariadb("plaintext")
    cfg, _ = config_json(capsys, "--driver", "pymysql", plaintext.url(**{"ssl-mode": "REQUIRED"}))
    with pytest.raises(pymysql.err.OperationalError, match="SSL is required"):
        pymysql.connect(**cfg)


def test_aiomysql_config_note_builds_the_context(kv, pki, capsys, tmp_path, monkeypatch):
    server = kv.mariadb()
    cfg, code = run_config(
        capsys, "--driver", "aiomysql", server.url(user=server.x509_user), *mtls(pki)
    )
    assert code[-1] == "connection = await aiomysql.connect(**cfg, ssl=context)"
    # aiomysql's TLS upgrade leaves the plain transport under the TLS one to the cyclic GC
    # (a ResourceWarning in whichever test runs it): collected here, quietly.
    with quiet_resource_leaks():
        result = follow_the_note(
            code,
            cfg,
            "aiomysql.json",
            tmp_path,
            monkeypatch,
            """
            async with connection.cursor() as cursor:
                await cursor.execute("SELECT CURRENT_USER()")
                result = await cursor.fetchone()
            connection.close()
            """,
        )
    assert result == (f"{server.x509_user}@%",)


def test_every_family_driver_is_accepted_by_config(capsys, pki):
    for driver, target in (
        ("redis", "rediss://h:6380"),
        ("redis-asyncio", "valkeys://u:p@h:6380/2"),
        ("valkey", "valkeys://u:p@h:6380/2"),
        ("valkey-asyncio", "rediss://h:6380"),
        ("pymysql", "mysql://u:p@h/db"),
        ("aiomysql", "mysql://u:p@h/db"),
    ):
        cfg, _ = run_config(capsys, "--driver", driver, target, "--ca", str(pki.ca_pem))
        assert cfg["host"] == "h"
