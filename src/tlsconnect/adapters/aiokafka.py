"""aiokafka: keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and the admin client."""

from __future__ import annotations

from typing import Any

from .._material import Credentials, Material
from .._model import Driver
from . import require_driver
from ._kafka import KafkaSetup, kafka_setup

__all__ = ["aiokafka_config", "aiokafka_params"]


def aiokafka_params(setup: KafkaSetup) -> dict[str, Any]:
    """aiokafka's keywords for an already decided setup."""
    config: dict[str, Any] = {
        "bootstrap_servers": list(setup.servers),
        "security_protocol": setup.protocol,
        "ssl_context": setup.plan.ssl_context(),
    }
    if setup.sasl_mechanism:
        config["sasl_mechanism"] = setup.sasl_mechanism
        config["sasl_plain_username"] = setup.sasl_username
        config["sasl_plain_password"] = setup.sasl_password
    return config


def aiokafka_config(
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
    """A new dict for ``AIOKafkaProducer(**cfg)`` and ``AIOKafkaConsumer(topic, **cfg)``."""
    require_driver(Driver.AIOKAFKA)
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
    return aiokafka_params(setup)
