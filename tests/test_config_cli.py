"""tlsconnect config: every generated configuration is fed to the real driver."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import stat
import subprocess
import time
import uuid

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from refusals import LogTail, Why, assert_refused, server_reasons
from tlsconnect._cli import main

PSQL = "/usr/lib/postgresql/15/bin/psql"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["config", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def pg_target(server, user="avnadmin"):
    return f"postgresql://{user}@localhost:{server.port}/defaultdb"


def mtls(pki) -> list[str]:
    return ["--credentials-dir", str(pki.creds_dir)]


def topic() -> str:
    return f"cfg-{uuid.uuid4().hex[:8]}"


# -- PostgreSQL ---------------------------------------------------------------------


def test_psycopg_conninfo_connects_with_mutual_tls(pg, pki, capsys):
    code, out, _ = run(capsys, "--driver", "psycopg", pg_target(pg.good), *mtls(pki))
    assert code == 0
    assert "sslmode=verify-full" in out and str(pki.creds_dir / "service.key") in out
    with psycopg.connect(out.strip(), connect_timeout=10) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("avnadmin",)


def test_psycopg_json_connects(pg, pki, capsys):
    code, out, _ = run(
        capsys,
        "--driver",
        "psycopg",
        pg_target(pg.good, "tlsuser"),
        "--ca",
        str(pki.ca_pem),
        "--format",
        "json",
    )
    assert code == 0
    params = json.loads(out)
    assert params["sslcert"].startswith("/dev/null/")  # no stray ~/.postgresql cert
    with psycopg.connect(**params, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_psycopg_conninfo_refuses_the_wrong_host_for_real(pg, pki, capsys):
    code, out, _ = run(
        capsys, "--driver", "psycopg", pg_target(pg.wronghost, "tlsuser"), "--ca", str(pki.ca_pem)
    )
    assert code == 0
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(out.strip(), connect_timeout=10).close()


def test_libpq_env_exports_work_for_psql(pg, pki, capsys, tmp_path):
    odd = tmp_path / "dir with 'quotes' and spaces"
    shutil.copytree(pki.creds_dir, odd)
    code, out, _ = run(
        capsys, "--driver", "libpq-env", pg_target(pg.good), "--credentials-dir", str(odd)
    )
    assert code == 0
    assert "export PGSSLMODE=verify-full" in out
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", "-c", f"{out}\nexec {PSQL} -X -A -t -c 'SELECT current_user'"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "avnadmin"


def test_group_readable_key_is_refused_without_output_dir(pki, tmp_path, capsys):
    creds = tmp_path / "creds"
    shutil.copytree(pki.creds_dir, creds)
    os.chmod(creds / "service.key", 0o644)
    code, out, err = run(
        capsys,
        "--driver",
        "psycopg",
        "postgresql://localhost:5432/db",
        "--credentials-dir",
        str(creds),
    )
    assert code == 2 and out == ""
    assert "chmod 600" in err and "--output-dir" in err


def test_der_ca_needs_output_dir_and_then_works(pg, pki, tmp_path, capsys):
    der = tmp_path / "ca.der"
    der.write_bytes(pki.ca.cert.public_bytes(serialization.Encoding.DER))
    code, _, err = run(
        capsys, "--driver", "psycopg", pg_target(pg.good, "tlsuser"), "--ca", str(der)
    )
    assert code == 2 and "--output-dir" in err
    out_dir = tmp_path / "out"
    code, out, err = run(
        capsys,
        "--driver",
        "psycopg",
        pg_target(pg.good, "tlsuser"),
        "--ca",
        str(der),
        "--output-dir",
        str(out_dir),
    )
    assert code == 0
    written = out_dir / "ca.pem"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600 and str(written) in out
    with psycopg.connect(out.strip(), connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_output_dir_copies_key_0600_and_never_prints_it(pg, pki, tmp_path, capsys):
    out_dir = tmp_path / "o"
    code, out, err = run(
        capsys, "--driver", "psycopg", pg_target(pg.good), *mtls(pki), "--output-dir", str(out_dir)
    )
    assert code == 0
    for name in ("ca.pem", "service.cert", "service.key"):
        assert stat.S_IMODE((out_dir / name).stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in out + err
    with psycopg.connect(out.strip(), connect_timeout=10) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("avnadmin",)


# -- Kafka --------------------------------------------------------------------------


def kafka_target(server):
    return f"kafka://{server.bootstrap}"


def test_kafka_python_json_produces(kafka, pki, capsys):
    from kafka import KafkaProducer

    code, out, _ = run(capsys, "--driver", "kafka-python", kafka_target(kafka.good), *mtls(pki))
    assert code == 0
    cfg = json.loads(out)
    assert cfg["ssl_check_hostname"] is True and cfg["security_protocol"] == "SSL"
    producer = KafkaProducer(**cfg, request_timeout_ms=15000)
    try:
        assert producer.send(topic(), b"kafka-python").get(timeout=30).offset >= 0
    finally:
        producer.close(timeout=5)


def test_confluent_properties_produce_and_list_topics(kafka, pki, capsys):
    from confluent_kafka import Producer

    code, out, _ = run(capsys, "--driver", "confluent-kafka", kafka_target(kafka.good), *mtls(pki))
    assert code == 0
    props = dict(line.split("=", 1) for line in out.splitlines() if line)
    assert props["ssl.endpoint.identification.algorithm"] == "https"
    assert props["ssl.key.location"] == str(pki.creds_dir / "service.key")
    producer = Producer(props)
    name = topic()
    delivered = []
    producer.produce(name, b"confluent", on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0
    assert delivered == [None]
    assert name in producer.list_topics(timeout=15).topics


def test_confluent_json_refuses_the_wrong_host_for_real(kafka, pki, capsys):
    from confluent_kafka import KafkaException, Producer

    def written(*extra: str) -> dict:
        code, out, err = run(
            capsys,
            "--driver",
            "confluent-kafka",
            kafka_target(kafka.wronghost),
            *mtls(pki),
            "--format",
            "json",
            *extra,
        )
        assert code == 0, err
        return json.loads(out)

    # verify-ca, the control: the same server is reached with the same certificate
    assert Producer(written("--sslmode", "verify-ca")).list_topics(timeout=15).topics is not None
    tail = LogTail(kafka.wronghost.stunnel_log)
    producer = Producer(written())
    with pytest.raises(KafkaException):
        producer.list_topics(timeout=5)
    # librdkafka refused the name: its alert, in stunnel's log (waited for: written
    # when stunnel reads it)
    deadline = time.monotonic() + 5
    while Why.HOST_NAME not in server_reasons(tail.lines()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert_refused(Why.HOST_NAME, server=tail.lines())


def test_aiokafka_json_starts_and_sends(kafka, pki, capsys):
    from aiokafka import AIOKafkaProducer

    from tlsconnect.adapters._recipe import CONTEXT_LINES

    code, out, err = run(capsys, "--driver", "aiokafka", kafka_target(kafka.good), *mtls(pki))
    assert code == 0 and 'tls = cfg.pop("tls")' in err
    cfg = json.loads(out)

    async def produce() -> None:
        recipe: dict = {"tls": cfg.pop("tls")}
        exec("\n".join(CONTEXT_LINES), recipe)
        context = recipe["context"]
        assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
        producer = AIOKafkaProducer(**cfg, ssl_context=context, request_timeout_ms=15000)
        await producer.start()
        try:
            await producer.send_and_wait(topic(), b"aiokafka")
        finally:
            await producer.stop()

    asyncio.run(produce())


def test_kafka_without_client_cert_is_refused(kafka, pki, capsys):
    code, _, err = run(
        capsys, "--driver", "kafka-python", kafka_target(kafka.good), "--ca", str(pki.ca_pem)
    )
    assert code == 2 and "client certificate" in err


def test_kafka_require_without_ca_is_refused(kafka, pki, capsys):
    code, _, err = run(
        capsys,
        "--driver",
        "confluent-kafka",
        kafka_target(kafka.good),
        "--cert",
        str(pki.client.cert_path),
        "--key",
        str(pki.client.key_path),
        "--sslmode",
        "require",
    )
    assert code == 2 and "--ca" in err


# -- Java ---------------------------------------------------------------------------


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")


def test_java_pkcs12_stores_load_and_hold_the_right_entries(kafka, pki, tmp_path, capsys):
    out_dir = tmp_path / "java"
    code, out, _ = run(
        capsys,
        "--driver",
        "java-properties",
        kafka_target(kafka.good),
        *mtls(pki),
        "--output-dir",
        str(out_dir),
    )
    assert code == 0
    written = parse_properties((out_dir / "client.properties").read_text())
    assert written["security.protocol"] == "SSL"
    assert written["ssl.endpoint.identification.algorithm"] == "https"
    assert written["ssl.keystore.type"] == written["ssl.truststore.type"] == "PKCS12"
    # The generated passwords are in secret.properties (0600) only, never on standard
    # output; client.properties names them through Kafka's file config provider.
    secret_file = out_dir / "secret.properties"
    hidden = parse_properties(secret_file.read_text())
    assert written["config.providers"] == "file"
    for secret in ("ssl.keystore.password", "ssl.key.password", "ssl.truststore.password"):
        assert written[secret] == f"${{file:{secret_file}:{secret}}}"
        assert hidden[secret] not in out
    assert parse_properties(out) == written  # printed whole: nothing secret in it
    props = {**written, **hidden}  # as the Kafka client resolves them
    keystore = out_dir / "client.keystore.p12"
    truststore = out_dir / "client.truststore.p12"
    for path in (keystore, truststore, out_dir / "client.properties", secret_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key, cert, _ = pkcs12.load_key_and_certificates(
        keystore.read_bytes(), props["ssl.keystore.password"].encode()
    )
    assert cert == pki.client.cert
    assert key.public_key().public_numbers() == pki.client.key.public_key().public_numbers()
    trusted = pkcs12.load_pkcs12(truststore.read_bytes(), props["ssl.truststore.password"].encode())
    assert [c.certificate for c in trusted.additional_certs] == [pki.ca.cert]
    if shutil.which("keytool"):
        for path, password in (
            (keystore, props["ssl.keystore.password"]),
            (truststore, props["ssl.truststore.password"]),
        ):
            listed = subprocess.run(
                [
                    "keytool",
                    "-list",
                    "-keystore",
                    str(path),
                    "-storetype",
                    "PKCS12",
                    "-storepass",
                    password,
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert listed.returncode == 0, listed.stdout + listed.stderr
            kind = "PrivateKeyEntry" if path == keystore else "trustedCertEntry"
            assert kind in listed.stdout


def test_java_pem_never_prints_the_key(kafka, pki, tmp_path, capsys):
    out_dir = tmp_path / "javapem"
    code, out, _ = run(
        capsys,
        "--driver",
        "java-properties",
        kafka_target(kafka.wronghost),
        *mtls(pki),
        "--sslmode",
        "verify-ca",
        "--output-dir",
        str(out_dir),
        "--java-format",
        "pem",
    )
    assert code == 0
    assert "PRIVATE KEY" not in out
    written = (out_dir / "client.properties").read_text()
    props = parse_properties(written)
    hidden = parse_properties((out_dir / "secret.properties").read_text())
    assert props["ssl.keystore.key"].startswith("${file:") and "PRIVATE KEY" not in written
    props.update(hidden)
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"
    assert props["ssl.endpoint.identification.algorithm"] == ""
    assert props["ssl.keystore.key"].startswith("-----BEGIN PRIVATE KEY-----\\n")
    assert "BEGIN CERTIFICATE" in props["ssl.keystore.certificate.chain"]
    assert "BEGIN CERTIFICATE" in props["ssl.truststore.certificates"]


def test_java_needs_output_dir(kafka, pki, capsys):
    code, _, err = run(capsys, "--driver", "java-properties", kafka_target(kafka.good), *mtls(pki))
    assert code == 2 and "--output-dir" in err


def test_format_not_available_for_driver_exits_2(pki, capsys):
    code, _, err = run(
        capsys,
        "--driver",
        "kafka-python",
        "kafka://localhost:1",
        *mtls(pki),
        "--format",
        "conninfo",
    )
    assert code == 2 and "not available" in err
