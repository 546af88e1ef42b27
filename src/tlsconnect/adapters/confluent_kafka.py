"""confluent-kafka (librdkafka): a property dict for Producer, Consumer and AdminClient.

Property names are librdkafka's own (CONFIGURATION.md). librdkafka checks host names by
default since 2.0; the properties here always say what the plan decided, explicitly.
"""

from __future__ import annotations

from typing import Any

from .._context import public_ca_file
from .._files import write_private
from .._material import Credentials, Material
from .._model import Driver, Trust
from . import require_driver
from ._kafka import KafkaSetup, kafka_setup

__all__ = ["confluent_kafka_config", "confluent_kafka_params"]


def confluent_kafka_params(setup: KafkaSetup) -> dict[str, Any]:
    """librdkafka properties for an already decided setup."""
    plan = setup.plan
    credentials = plan.credentials
    config: dict[str, Any] = {
        "bootstrap.servers": ",".join(setup.servers),
        "security.protocol": setup.protocol.lower(),
    }
    if plan.verify_chain:
        config["enable.ssl.certificate.verification"] = "true"
        config["ssl.endpoint.identification.algorithm"] = "https" if plan.check_hostname else "none"
        trust = Trust(plan.trust)
        if trust is Trust.PROJECT:
            assert credentials is not None
            if len(credentials.ca_certificates) == 1:
                config["ssl.ca.pem"] = credentials.ca_pem.decode("ascii")
            else:
                config["ssl.ca.location"] = str(credentials.ca_file())
        elif trust is Trust.PUBLIC:
            config["ssl.ca.location"] = public_ca_file()
        elif trust is Trust.PROJECT_AND_PUBLIC:
            assert credentials is not None
            with open(public_ca_file(), "rb") as handle:
                bundle = credentials.ca_pem + b"\n" + handle.read()
            config["ssl.ca.location"] = str(write_private(bundle, ".bundle.pem"))
        else:
            config["ssl.ca.location"] = "probe"
    else:
        config["enable.ssl.certificate.verification"] = "false"
        config["ssl.endpoint.identification.algorithm"] = "none"
    if credentials is not None and credentials.has_client_cert:
        config["ssl.certificate.pem"] = credentials.cert_chain_pem.decode("ascii")
        config["ssl.key.pem"] = credentials.key_pem.decode("ascii")
        if credentials.key_password is not None:
            config["ssl.key.password"] = credentials.key_password.decode("utf-8")
    if setup.sasl_mechanism:
        config["sasl.mechanism"] = setup.sasl_mechanism
        config["sasl.username"] = setup.sasl_username
        config["sasl.password"] = setup.sasl_password
    return config


def confluent_kafka_config(
    bootstrap_servers: str | list[str],
    *,
    sslmode: str | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
) -> dict[str, Any]:
    """A new librdkafka property dict for ``Producer(cfg)`` / ``Consumer({**cfg, ...})``."""
    require_driver(Driver.CONFLUENT_KAFKA)
    setup = kafka_setup(
        bootstrap_servers,
        sslmode=sslmode,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sasl_mechanism=sasl_mechanism,
        sasl_username=sasl_username,
        sasl_password=sasl_password,
    )
    return confluent_kafka_params(setup)
