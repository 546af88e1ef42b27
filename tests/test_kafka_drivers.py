"""kafka-python, confluent-kafka and aiokafka configurations, each against the same real
broker (tansu behind stunnel, which requires a client certificate from the project CA).

verify-full / verify-ca must mean the same thing in every driver's output: shown with the
same front-ends for each driver.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import tlsconnect
from refusals import LogTail, Why, assert_refused, client_log
from tlsconnect import ConfigError, Credentials
from tlsconnect.testing import quiet_resource_leaks

DRIVERS = ["kafka-python", "confluent-kafka", "aiokafka"]


def _topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


# -- one small driver-specific round trip each ---------------------------------------


def kafka_python_round_trip(cfg: dict, topic: str, payload: bytes) -> list[bytes]:
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(**cfg, request_timeout_ms=15000, bootstrap_timeout_ms=8000)
    try:
        producer.send(topic, payload).get(timeout=30)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(
        topic, **cfg, group_id=None, auto_offset_reset="earliest", consumer_timeout_ms=10000
    )
    try:
        return [m.value for m in consumer]
    finally:
        consumer.close()


def confluent_round_trip(cfg: dict, topic: str, payload: bytes) -> list[bytes]:
    from confluent_kafka import Consumer, Producer, TopicPartition

    producer = Producer({**cfg, "message.timeout.ms": 20000})
    delivered: list[tuple[object, int]] = []
    producer.produce(
        topic, payload, on_delivery=lambda err, msg: delivered.append((err, msg.partition()))
    )
    assert producer.flush(30) == 0, "message not delivered"
    [(error, partition)] = delivered
    assert error is None, error
    consumer = Consumer({**cfg, "group.id": "tlsconnect-tests", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, partition, 0)])
        values = []
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
                break
        return values
    finally:
        consumer.close()


def aiokafka_round_trip(cfg: dict, topic: str, payload: bytes) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(**cfg, request_timeout_ms=15000)
        await producer.start()
        try:
            await producer.send_and_wait(topic, payload)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, **cfg, group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        try:
            message = await asyncio.wait_for(consumer.getone(), 20)
            return [message.value]
        finally:
            await consumer.stop()

    return asyncio.run(run())


def kafka_python_connects(cfg: dict) -> None:
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(**cfg, bootstrap_timeout_ms=3000, request_timeout_ms=5000)
    try:
        client.list_topics()
    finally:
        client.close()


def confluent_connects(cfg: dict) -> None:
    from confluent_kafka.admin import AdminClient

    client = AdminClient({**cfg, "log_level": 0, "error_cb": lambda err: None})
    client.list_topics(timeout=6)


def aiokafka_connects(cfg: dict) -> None:
    from aiokafka import AIOKafkaProducer

    async def run() -> None:
        producer = AIOKafkaProducer(**cfg, request_timeout_ms=5000)
        try:
            await producer.start()
        finally:
            await producer.stop()

    asyncio.run(run())


ROUND_TRIP = {
    "kafka-python": kafka_python_round_trip,
    "confluent-kafka": confluent_round_trip,
    "aiokafka": aiokafka_round_trip,
}
CONNECTS = {
    "kafka-python": kafka_python_connects,
    "confluent-kafka": confluent_connects,
    "aiokafka": aiokafka_connects,
}
CONFIG = {
    "kafka-python": tlsconnect.kafka_python_config,
    "confluent-kafka": tlsconnect.confluent_kafka_config,
    "aiokafka": tlsconnect.aiokafka_config,
}


def confluent_connects_logging(cfg: dict, log: list[str]) -> None:
    """As :func:`confluent_connects`, with librdkafka's errors added to ``log``."""
    from confluent_kafka.admin import AdminClient

    client = AdminClient({**cfg, "log_level": 0, "error_cb": lambda err: log.append(str(err))})
    client.list_topics(timeout=6)


def refused(driver: str, cfg: dict, server, why: Why) -> None:
    """Assert that the driver cannot reach ``server`` with ``cfg``, because ``why``.

    The reason is read from the client (its exception and what it logged: kafka-python and
    aiokafka log OpenSSL's verify error) and from the broker's TLS terminator (stunnel's
    log: the client's alert, or its own refusal of the client's certificate). No
    connection may have reached the broker behind it.
    """
    tail = LogTail(server.stunnel_log)
    error: BaseException | None = None
    with client_log() as log:
        try:
            if driver == "confluent-kafka":
                confluent_connects_logging(cfg, log)
            else:
                CONNECTS[driver](cfg)
        except Exception as exc:
            error = exc
    assert error is not None, f"{driver} connected to {server.name}"
    assert not isinstance(error, (ConfigError, TypeError, AssertionError)), repr(error)
    # stunnel writes its log line when it reads the client's alert: wait for it
    deadline = time.monotonic() + 5
    while True:
        lines = tail.lines()
        try:
            assert_refused(why, exc=error, client=log, server=lines)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert not [line for line in lines if "connected remote server" in line], lines
    del error


# -- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_produce_and_consume_over_mutual_tls_with_verify_full(driver, kafka, pki):
    cfg = CONFIG[driver](
        kafka.good.bootstrap, credentials=Credentials.from_directory(pki.creds_dir)
    )
    topic, payload = _topic(), f"hello from {driver}".encode()
    with quiet_resource_leaks():
        values = ROUND_TRIP[driver](cfg, topic, payload)
    assert payload in values, kafka.good.logs()


@pytest.mark.parametrize("driver", DRIVERS)
def test_verify_full_refuses_wrong_host_and_verify_ca_accepts_the_same_server(driver, kafka, pki):
    creds = Credentials.from_directory(pki.creds_dir)
    server = kafka.wronghost
    cfg = CONFIG[driver](server.bootstrap, credentials=creds, sslmode="verify-full")
    refused(driver, cfg, server, Why.HOST_NAME)
    with quiet_resource_leaks():
        CONNECTS[driver](CONFIG[driver](server.bootstrap, credentials=creds, sslmode="verify-ca"))


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca"])
def test_wrong_ca_is_refused(driver, sslmode, kafka, pki):
    creds = Credentials.from_directory(pki.creds_dir)
    server = kafka.othersigned
    cfg = CONFIG[driver](server.bootstrap, credentials=creds, sslmode=sslmode)
    refused(driver, cfg, server, Why.UNTRUSTED_ISSUER)


@pytest.mark.parametrize("driver", DRIVERS)
def test_expired_broker_certificate_is_refused(driver, kafka, pki):
    creds = Credentials.from_directory(pki.creds_dir)
    refused(
        driver,
        CONFIG[driver](kafka.expired.bootstrap, credentials=creds),
        kafka.expired,
        Why.EXPIRED,
    )


@pytest.mark.parametrize("driver", DRIVERS)
def test_client_certificate_from_another_ca_is_refused_by_the_broker(driver, kafka, pki):
    cfg = CONFIG[driver](
        kafka.good.bootstrap,
        ca=pki.ca_pem,
        cert=pki.other_client.cert_path,
        key=pki.other_client.key_path,
    )
    if driver == "confluent-kafka":
        # librdkafka holds back a certificate whose issuer is not among the CAs the
        # server asks for (stunnel records no certificate): the configuration must
        # still carry that certificate, and the broker refuses the connection.
        assert cfg["ssl.certificate.pem"] == pki.other_client.cert_path.read_text()
        refused(driver, cfg, kafka.good, Why.CLIENT_CERT_MISSING)
    else:
        refused(driver, cfg, kafka.good, Why.CLIENT_CERT_REFUSED)


@pytest.mark.parametrize("driver", DRIVERS)
def test_missing_client_certificate_is_refused_by_the_broker(driver, kafka, pki):
    # SASL settings make the configuration legal without a certificate; the broker's TLS
    # terminator refuses the connection before any SASL exchange.
    cfg = CONFIG[driver](
        kafka.good.bootstrap,
        ca=pki.ca_pem,
        sasl_mechanism="PLAIN",
        sasl_username="avnadmin",
        sasl_password="pw",
    )
    refused(driver, cfg, kafka.good, Why.CLIENT_CERT_MISSING)


@pytest.mark.parametrize("driver", DRIVERS)
def test_neither_client_certificate_nor_sasl_is_a_config_error(driver, pki):
    with pytest.raises(ConfigError, match="client certificate .* or SASL"):
        CONFIG[driver]("localhost:9093", ca=pki.ca_pem)


@pytest.mark.parametrize("driver", DRIVERS)
def test_kafka_without_ca_is_a_config_error(driver, pki):
    with pytest.raises(ConfigError, match="project CA"):
        CONFIG[driver]("localhost:9093", cert=pki.client.cert_path, key=pki.client.key_path)


def test_hostname_checking_is_the_same_in_every_drivers_output(pki):
    creds = Credentials.from_directory(pki.creds_dir)
    for sslmode, expected in (("verify-full", True), ("verify-ca", False)):
        kp = tlsconnect.kafka_python_config("h:1", credentials=creds, sslmode=sslmode)
        ak = tlsconnect.aiokafka_config("h:1", credentials=creds, sslmode=sslmode)
        ck = tlsconnect.confluent_kafka_config("h:1", credentials=creds, sslmode=sslmode)
        assert kp["ssl_context"].check_hostname is expected
        assert kp["ssl_check_hostname"] is expected
        assert ak["ssl_context"].check_hostname is expected
        assert ck["ssl.endpoint.identification.algorithm"] == ("https" if expected else "none")
        assert ck["enable.ssl.certificate.verification"] == "true"


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "scram_sha_512"])
def test_sasl_over_tls_in_every_driver(pki, mechanism):
    common = dict(ca=pki.ca_pem, sasl_mechanism=mechanism, sasl_username="u", sasl_password="p")
    canonical = mechanism.upper().replace("_", "-")
    kp = tlsconnect.kafka_python_config("h:1", **common)
    assert (kp["security_protocol"], kp["sasl_mechanism"]) == ("SASL_SSL", canonical)
    assert (kp["sasl_plain_username"], kp["sasl_plain_password"]) == ("u", "p")
    ak = tlsconnect.aiokafka_config("h:1", **common)
    assert (ak["security_protocol"], ak["sasl_mechanism"]) == ("SASL_SSL", canonical)
    ck = tlsconnect.confluent_kafka_config("h:1", **common)
    assert (ck["security.protocol"], ck["sasl.mechanism"]) == ("sasl_ssl", canonical)
    assert (ck["sasl.username"], ck["sasl.password"]) == ("u", "p")
    assert ck["ssl.ca.pem"].startswith("-----BEGIN CERTIFICATE-----")


def test_sasl_needs_username_and_password_and_a_known_mechanism(pki):
    with pytest.raises(ConfigError, match="sasl_username and sasl_password"):
        tlsconnect.kafka_python_config("h:1", ca=pki.ca_pem, sasl_username="u")
    with pytest.raises(ConfigError, match="GSSAPI"):
        tlsconnect.kafka_python_config(
            "h:1", ca=pki.ca_pem, sasl_mechanism="GSSAPI", sasl_username="u", sasl_password="p"
        )


def test_confluent_properties_use_librdkafka_names(pki):
    cfg = tlsconnect.confluent_kafka_config(
        " a:1, b:2 ,a:1",
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client_key_encrypted_path,
        key_password="s3cret",
    )
    assert cfg["bootstrap.servers"] == "a:1,b:2"
    assert cfg["security.protocol"] == "ssl"
    assert cfg["ssl.certificate.pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert "ENCRYPTED PRIVATE KEY" in cfg["ssl.key.pem"]
    assert cfg["ssl.key.password"] == "s3cret"
    from confluent_kafka import Producer

    Producer(cfg)  # librdkafka accepts every property name and value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a:1", ["a:1"]),
        ("a:1,b:2", ["a:1", "b:2"]),
        ([" a:1 ", "a:1", "b:2"], ["a:1", "b:2"]),
        ("kafka://a:1", ["a:1"]),
        ("[::1]:9093", ["[::1]:9093"]),
        ("a:01", ["a:1"]),
    ],
)
def test_bootstrap_lists_are_cleaned(pki, value, expected):
    cfg = tlsconnect.kafka_python_config(
        value, credentials=Credentials.from_directory(pki.creds_dir)
    )
    assert cfg["bootstrap_servers"] == expected


@pytest.mark.parametrize("value", ["", " , ", "a", "a:", "a:x", "a:70000", "::1:9093", 5, [3]])
def test_bad_bootstrap_lists_are_config_errors(pki, value):
    with pytest.raises(ConfigError, match="bootstrap"):
        tlsconnect.kafka_python_config(value, credentials=Credentials.from_directory(pki.creds_dir))
