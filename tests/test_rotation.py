"""Rotation: a long-running process picks up re-downloaded files without restarting.

``tlsconnect.CredentialsSource`` re-reads its files when they change; per new connection
the process asks it for parameters. Shown with a psycopg_pool whose new connections
present the new client certificate (pg_stat_ssl.client_serial), and with a kafka-python
consumer that keeps consuming across a rotation by re-creating itself when
``source.refresh()`` says the files changed (kafka-python keeps a client's SSL context for
all its reconnections), the broker front-end logging the new certificate.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid

import psycopg
import pytest
from psycopg_pool import ConnectionPool

import tlsconnect
from tlsconnect import ConfigError, CredentialsSource


def install(directory, pki, leaf, *, key: bool = True) -> None:
    """Replace service.cert (and service.key) the way a careful download does: atomically,
    one file after the other."""
    for source, name, mode in (
        (leaf.cert_path, "service.cert", 0o644),
        (leaf.key_path, "service.key", 0o600),
    ):
        if name == "service.key" and not key:
            continue
        staged = directory / f".{name}.new"
        shutil.copyfile(source, staged)
        os.chmod(staged, mode)
        os.replace(staged, directory / name)


@pytest.fixture
def creds_dir(tmp_path, pki):
    directory = tmp_path / "creds"
    directory.mkdir()
    shutil.copyfile(pki.ca_pem, directory / "ca.pem")
    return directory


@pytest.fixture(scope="module")
def generations(pki):
    """Two client certificates from the project CA, CN=avnadmin (PostgreSQL's cert auth)."""
    return [pki.issue_cert(f"rotation-{n}", common_name="avnadmin", is_client=True) for n in (1, 2)]


def test_current_rereads_only_when_files_change(creds_dir, pki, generations, caplog):
    first, second = generations
    install(creds_dir, pki, first)
    source = CredentialsSource.from_directory(creds_dir)
    creds = source.current()
    assert source.current() is creds and source.refresh() is False and source.generation == 1
    assert creds.certificate.serial_number == first.cert.serial_number
    # half-way through a rotation the new certificate does not match the old key yet
    install(creds_dir, pki, second, key=False)
    with caplog.at_level(logging.WARNING, logger="tlsconnect"):
        assert source.current() is creds
    assert "does not belong" in caplog.text and "previous material stays in use" in caplog.text
    install(creds_dir, pki, second)
    assert source.refresh() is True and source.generation == 2
    assert source.current().certificate.serial_number == second.cert.serial_number
    assert "generation=2" in repr(source)


def test_a_source_must_start_from_good_files(tmp_path, pki):
    with pytest.raises(ConfigError, match="does not exist"):
        CredentialsSource.from_directory(tmp_path / "absent")
    with pytest.raises(ConfigError, match="must be a path"):
        CredentialsSource(ca=pki.ca.cert_pem)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one"):
        CredentialsSource()


def test_psycopg_params_name_a_matching_snapshot_while_files_are_replaced(
    creds_dir, pki, generations
):
    first, second = generations
    install(creds_dir, pki, first)
    source = CredentialsSource.from_directory(creds_dir)
    params = source.psycopg_params("host=localhost")
    install(creds_dir, pki, second, key=False)  # half-way: libpq must not read this pair
    with open(params["sslcert"], "rb") as handle:
        assert handle.read() == first.cert_pem
    assert source.psycopg_params("host=localhost")["sslcert"] == params["sslcert"]
    assert os.stat(params["sslkey"]).st_mode & 0o077 == 0


def _client_serial(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_psycopg_pool_new_connections_use_the_rotated_certificate(creds_dir, pki, pg, generations):
    first, second = generations
    install(creds_dir, pki, first)
    source = CredentialsSource.from_directory(creds_dir)
    uri = f"postgresql://avnadmin@localhost:{pg.good.port}/defaultdb"
    # psycopg_pool >= 3.3 calls a kwargs callable for every new connection
    with ConnectionPool(
        "", kwargs=lambda: source.psycopg_params(uri), min_size=1, max_size=1, open=True
    ) as pool:
        with pool.connection(timeout=10) as conn:
            assert _client_serial(conn) == first.cert.serial_number
            install(creds_dir, pki, second)
            # a connection already open keeps its certificate...
            assert _client_serial(conn) == first.cert.serial_number
            conn.close()  # ...and the pool replaces a closed one with a new connection
        with pool.connection(timeout=10) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("avnadmin",)
            assert _client_serial(conn) == second.cert.serial_number
    assert source.generation == 2


def test_kafka_consumer_keeps_consuming_across_a_rotation(creds_dir, pki, kafka):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    # distinct subjects, so that the front-end's log shows which certificate was presented
    first, second = (
        pki.issue_cert(f"rotation-kafka-{n}", common_name=f"rotation-kafka-{n}", is_client=True)
        for n in (1, 2)
    )
    install(creds_dir, pki, first)
    source = CredentialsSource.from_directory(creds_dir)
    bootstrap = kafka.good.bootstrap
    topic = f"rotation-{uuid.uuid4().hex[:8]}"
    partition = TopicPartition(topic, 0)

    def produce(values: list[bytes]) -> None:
        producer = KafkaProducer(**source.kafka_python_config(bootstrap), request_timeout_ms=15000)
        try:
            for value in values:
                producer.send(topic, value, partition=0).get(timeout=30)
        finally:
            producer.close(timeout=5)

    def new_consumer(offset: int) -> KafkaConsumer:
        consumer = KafkaConsumer(
            **source.kafka_python_config(bootstrap), group_id=None, consumer_timeout_ms=10000
        )
        consumer.assign([partition])
        consumer.seek(partition, offset)
        return consumer

    def take(consumer: KafkaConsumer, count: int) -> list[bytes]:
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values += [record.value for record in records]
        return values

    produce([b"before-1", b"before-2"])
    consumer = new_consumer(0)
    received = take(consumer, 2)
    # the files are rotated while the consumer runs; the loop notices and re-creates it
    install(creds_dir, pki, second)
    assert source.refresh() is True
    log_before = len(kafka.good.stunnel_log.read_bytes())
    position = consumer.position(partition)
    consumer.close()
    consumer = new_consumer(position)
    produce([b"after-1", b"after-2"])
    try:
        received += take(consumer, 2)
    finally:
        consumer.close()
    assert received == [b"before-1", b"before-2", b"after-1", b"after-2"]
    after = kafka.good.stunnel_log.read_bytes()[log_before:].decode(errors="replace")
    # stunnel logs the subject of each client certificate it accepts
    assert "Certificate accepted at depth=0: O=tlsconnect tests, CN=rotation-kafka-2" in after
    assert "CN=rotation-kafka-1" not in after


def test_ssl_context_from_a_source_presents_the_current_certificate(
    creds_dir, pki, tls_server, generations
):
    first, second = generations
    install(creds_dir, pki, first)
    source = CredentialsSource.from_directory(creds_dir)
    server = tls_server("good", require_client_cert=True)

    for leaf in (first, second):
        install(creds_dir, pki, leaf)
        context = source.ssl_context("kafka")
        with socket.create_connection(server.address, timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.recv(3) == b"OK\n"
        peer = [h for h in server.handshakes if h.ok][-1].peer_cert
        assert int(peer["serialNumber"], 16) == leaf.cert.serial_number
    assert tlsconnect.CredentialsSource is CredentialsSource
