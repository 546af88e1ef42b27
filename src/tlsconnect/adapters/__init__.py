"""One adapter per driver, same shape each, chosen through :data:`ADAPTERS`.

Each adapter turns a :class:`~tlsconnect.TLSPlan` into that driver's parameters. None of
them imports its driver at module level: ``import tlsconnect`` stays cheap.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from .._errors import MissingDependencyError
from .._model import Driver

__all__ = ["ADAPTERS", "Adapter", "require_driver"]


@dataclass(frozen=True)
class Adapter:
    driver: Driver
    module: str  # what the driver is imported as
    extra: str  # the tlsconnect extra that installs it
    function: str  # the public function in tlsconnect


ADAPTERS: dict[Driver, Adapter] = {
    Driver.PSYCOPG: Adapter(Driver.PSYCOPG, "psycopg", "postgres", "psycopg_params"),
    Driver.KAFKA_PYTHON: Adapter(Driver.KAFKA_PYTHON, "kafka", "kafka", "kafka_python_config"),
    Driver.CONFLUENT_KAFKA: Adapter(
        Driver.CONFLUENT_KAFKA, "confluent_kafka", "confluent", "confluent_kafka_config"
    ),
    Driver.AIOKAFKA: Adapter(Driver.AIOKAFKA, "aiokafka", "aiokafka", "aiokafka_config"),
}


def require_driver(driver: Driver) -> None:
    """Raise :class:`MissingDependencyError` when the driver is not installed (no import)."""
    adapter = ADAPTERS[driver]
    if importlib.util.find_spec(adapter.module) is None:
        raise MissingDependencyError(
            f"{adapter.function}() writes parameters for {driver.value}, which is not "
            f'installed; install it with: pip install "tlsconnect[{adapter.extra}]"'
        )
