"""``tlsconnect config`` never prints a secret: key passwords and database passwords go to
0600 files in ``--output-dir`` (required when there is one to write), read from there by
the format's own means where it has one (libpq's ``passfile``), else by the printed
recipe; and the file route works with the real drivers and servers."""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import stat
from urllib.parse import quote

import pytest

from tlsconnect._cli import main
from tlsconnect._configgen import DRIVERS

DB_PASSWORD = "Db-pw:7\\x"  # a ':' and a '\' as the passfile format must escape them
ENCODED = quote(DB_PASSWORD, safe="")


def _targets(host: str = "h.example") -> dict[str, str]:
    pg = f"postgresql://tlsuser:{ENCODED}@{host}:5432/postgres"
    kafka = f"kafka://{host}:9093"
    web = f"https://admin:pw-{host}-Q7@{host}:443"
    return {
        "psycopg": pg,
        "psycopg2": pg,
        "pg8000": pg,
        "libpq-env": pg,
        "asyncpg": pg,
        "sqlalchemy": pg.replace("postgresql://", "postgresql+psycopg://"),
        "django": pg,
        "kafka-python": kafka,
        "confluent-kafka": kafka,
        "aiokafka": kafka,
        "java-properties": kafka,
        "redis": f"rediss://default:rd-{host}-Q7@{host}:6380",
        "redis-asyncio": f"rediss://default:rd-{host}-Q7@{host}:6380",
        "valkey": f"valkeys://default:rd-{host}-Q7@{host}:6380",
        "valkey-asyncio": f"valkeys://default:rd-{host}-Q7@{host}:6380",
        "httpx": web,
        "requests": web,
        "aiohttp": web,
        "urllib3": web,
        "schema-registry": web,
        "opensearch": web,
        "clickhouse": web,
        "pymysql": f"mysql://avnadmin:my-{host}-Q7@{host}:3306/defaultdb",
        "aiomysql": f"mysql://avnadmin:my-{host}-Q7@{host}:3306/defaultdb",
        "mysql-connector": f"mysql://avnadmin:my-{host}-Q7@{host}:3306/defaultdb",
        "cassandra": f"cassandra://avnadmin:cs-{host}-Q7@{host}:9042",
        "clickhouse-driver": f"clickhouse://avnadmin:ch-{host}-Q7@{host}:9440/default",
    }


def _secrets_of(pki) -> list[str]:
    """Every secret of the table, in every spelling (the key's; the database passwords)."""
    return [pki.client_key_password, "Db-pw", ENCODED, "-h.example-Q7"]


@pytest.fixture
def material(pki, monkeypatch) -> list[str]:
    monkeypatch.setenv("TLSCONNECT_TEST_KEY_PASSWORD", pki.client_key_password)
    return [
        "--ca",
        str(pki.ca_pem),
        "--cert",
        str(pki.client.cert_path),
        "--key",
        str(pki.client_key_encrypted_path),
        "--password-env",
        "TLSCONNECT_TEST_KEY_PASSWORD",
    ]


def test_every_driver_is_covered():
    assert set(_targets()) == set(DRIVERS)


@pytest.mark.parametrize("driver", DRIVERS)
def test_no_secret_reaches_standard_output_or_error(driver, pki, material, tmp_path, capsys):
    target = _targets()[driver]
    secrets = _secrets_of(pki)
    # without --output-dir: refused, naming the flag (and nothing written anywhere)
    assert main(["config", "--driver", driver, target, *material]) == 2
    out, err = capsys.readouterr()
    # the drivers whose file options take no key password refuse the encrypted key itself
    no_key_password = ("opensearch", "requests", "mysql-connector")
    assert "--output-dir" in err or (driver in no_key_password and "openssl pkey" in err)
    for secret in secrets:
        assert secret not in out + err
    # with it: the secrets are in 0600 files there, and the output says where
    code = main(["config", "--driver", driver, target, *material, "--output-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    for secret in secrets:
        assert secret not in out + err, (secret, out, err)
    if driver in no_key_password:
        assert code == 2 and "openssl pkey" in err
        return
    assert code == 0, err
    written = sorted(tmp_path.glob("secret.*"))
    assert written, err
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert str(path) in out + err  # the output says where it is
        held = path.read_text()
        if driver == "java-properties":  # the stores' passwords, read by ${file:...}
            assert "ssl.keystore.password=" in held and f"${{file:{path}:" in out
        else:
            assert pki.client_key_password in held or "Q7" in held or "Db-pw" in held


def _exports(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0]
    return env


def test_psycopg_reads_the_database_password_from_the_passfile(
    pg_server, pki, material, tmp_path, capsys
):
    import psycopg

    server = pg_server("good")
    target = _targets(server.host)["psycopg"].replace(":5432/", f":{server.port}/")
    assert (
        main(["config", "--driver", "psycopg", target, *material, "--output-dir", str(tmp_path)])
        == 0
    )
    out, err = capsys.readouterr()
    assert DB_PASSWORD not in out + err and "passfile=" in out and "password=" not in out
    # the key's password: from its file, named in the notes
    key_password = (tmp_path / "secret.sslpassword").read_text()
    assert str(tmp_path / "secret.sslpassword") in err
    with psycopg.connect(out.strip(), sslpassword=key_password) as conn:
        # libpq took the password from the passfile (PQpass), and the TLS plan held
        assert conn.info.password == DB_PASSWORD
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[
            0
        ]
    # libpq-env: PGPASSFILE
    assert (
        main(["config", "--driver", "libpq-env", target, *material, "--output-dir", str(tmp_path)])
        == 0
    )
    out, err = capsys.readouterr()
    assert DB_PASSWORD not in out + err and "PGPASSWORD" not in out
    env = _exports(out)
    assert pathlib.Path(env["PGPASSFILE"]).read_text().startswith("*:*:*:*:")
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with psycopg.connect("", sslpassword=key_password) as conn:
            assert conn.info.password == DB_PASSWORD
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_kafka_python_reads_the_key_password_back_and_connects(
    kafka, pki, material, tmp_path, capsys
):
    from kafka import KafkaAdminClient

    target = f"kafka://{kafka.good.bootstrap}"
    assert (
        main(
            ["config", "--driver", "kafka-python", target, *material, "--output-dir", str(tmp_path)]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert pki.client_key_password not in out + err
    cfg = json.loads(out)
    assert "ssl_password" not in cfg and pathlib.Path(cfg["ssl_password_file"]).is_file()
    (line,) = [line for line in err.splitlines() if line.startswith("# use: ")]
    namespace = {"cfg": cfg}
    exec(line.removeprefix("# use: "), namespace)  # the printed read-back, as printed
    cfg = namespace["cfg"]
    assert cfg["ssl_password"] == pki.client_key_password
    client = KafkaAdminClient(**cfg, bootstrap_timeout_ms=5000, request_timeout_ms=8000)
    try:
        client.list_topics()
    finally:
        client.close()


def test_confluent_kafka_properties_name_the_key_password_file_and_connect(
    kafka, pki, material, tmp_path, capsys
):
    from confluent_kafka.admin import AdminClient

    target = f"kafka://{kafka.good.bootstrap}"
    argv = ["config", "--driver", "confluent-kafka", target, *material]
    assert main([*argv, "--output-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert pki.client_key_password not in out + err
    path = tmp_path / "secret.ssl.key.password"
    assert f"# ssl.key.password: in {path}" in out
    conf = dict(line.split("=", 1) for line in out.splitlines() if line and line[0] != "#")
    assert "ssl.key.password" not in conf
    conf["ssl.key.password"] = pathlib.Path(path).read_text()  # as the note says
    client = AdminClient({**conf, "log_level": 0, "error_cb": lambda err: None})
    metadata = client.list_topics(timeout=15)
    assert metadata.brokers


@pytest.mark.parametrize("driver", ["kafka-python", "httpx"])
def test_the_last_guard_refuses_a_secret_the_vault_missed(
    driver, pki, material, tmp_path, capsys, monkeypatch
):
    """Where the vault does not know a field for a secret (a driver's new option name),
    the last guard still finds the secret in what would be printed, and refuses."""
    from tlsconnect import _configgen

    monkeypatch.setattr(_configgen, "is_secret_key", lambda name: False)
    out_dir = tmp_path / "out"
    argv = ["config", "--driver", driver, _targets()[driver], *material, "--output-dir"]
    assert main([*argv, str(out_dir)]) == 2
    out, err = capsys.readouterr()
    assert "would print a password" in err, err
    for secret in _secrets_of(pki):
        assert secret not in out + err
