"""kafka-python: keyword arguments for KafkaProducer, KafkaConsumer and KafkaAdminClient."""

from __future__ import annotations

from typing import Any

from .._material import Credentials, Material
from .._model import Driver
from . import require_driver
from ._kafka import KafkaSetup, kafka_setup

__all__ = ["kafka_python_config", "kafka_python_params"]


def kafka_python_params(setup: KafkaSetup) -> dict[str, Any]:
    """kafka-python's keywords for an already decided setup."""
    plan = setup.plan
    config: dict[str, Any] = {
        "bootstrap_servers": list(setup.servers),
        "security_protocol": setup.protocol,
        # kafka-python uses a given context as it is; ssl_check_hostname is set to the
        # same value so the configuration reads true.
        "ssl_context": plan.ssl_context(),
        "ssl_check_hostname": plan.check_hostname,
    }
    if setup.sasl_mechanism:
        config["sasl_mechanism"] = setup.sasl_mechanism
        config["sasl_plain_username"] = setup.sasl_username
        config["sasl_plain_password"] = setup.sasl_password
    return config


def kafka_python_config(
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
    """A new dict for ``KafkaProducer(**cfg)``, ``KafkaConsumer(topic, **cfg)`` and
    ``KafkaAdminClient(**cfg)``: ``SSL`` with a client certificate, ``SASL_SSL`` with SASL."""
    require_driver(Driver.KAFKA_PYTHON)
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
    return kafka_python_params(setup)
