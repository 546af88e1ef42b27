"""tlsconnect: connect to managed data services over TLS, correctly, in one line.

>>> import tlsconnect
>>> creds = tlsconnect.Credentials.from_directory("creds")
>>> params = tlsconnect.psycopg_params(uri, credentials=creds)

The public names are listed in ``__all__``; everything else is private.

``import tlsconnect`` loads nothing but this file: each public name is imported from
its private module the first time it is used (PEP 562), so importing costs next to
nothing, and ``cryptography`` and the drivers are loaded only when material is parsed or
a driver is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the private module that defines it
_EXPORTS: dict[str, str] = {
    "CertificateExpiryWarning": "._errors",
    "CheckReport": "._report",
    "ConfigError": "._errors",
    "Credentials": "._material",
    "CredentialsSource": "._reload",
    "Driver": "._model",
    "ErrorClass": "._report",
    "InsecureConnectionWarning": "._errors",
    "KeyPermissionWarning": ".adapters.psycopg",
    "MissingDependencyError": "._errors",
    "SSLMode": "._model",
    "Service": "._model",
    "TLSConnectError": "._errors",
    "TLSConnectWarning": "._errors",
    "TLSPlan": "._plan",
    "Trust": "._model",
    "aiokafka_config": ".adapters.aiokafka",
    "check": "._probe",
    "confluent_kafka_config": ".adapters.confluent_kafka",
    "kafka_python_config": ".adapters.kafka_python",
    "psycopg_params": ".adapters.psycopg",
    "resolve": "._plan",
    "ssl_context": "._context",
}

__all__ = [
    "CertificateExpiryWarning",
    "CheckReport",
    "ConfigError",
    "Credentials",
    "CredentialsSource",
    "Driver",
    "ErrorClass",
    "InsecureConnectionWarning",
    "KeyPermissionWarning",
    "MissingDependencyError",
    "SSLMode",
    "Service",
    "TLSConnectError",
    "TLSConnectWarning",
    "TLSPlan",
    "Trust",
    "__version__",
    "aiokafka_config",
    "check",
    "confluent_kafka_config",
    "kafka_python_config",
    "psycopg_params",
    "resolve",
    "ssl_context",
]

if TYPE_CHECKING:
    from ._context import ssl_context
    from ._errors import (
        CertificateExpiryWarning,
        ConfigError,
        InsecureConnectionWarning,
        MissingDependencyError,
        TLSConnectError,
        TLSConnectWarning,
    )
    from ._material import Credentials
    from ._model import Driver, Service, SSLMode, Trust
    from ._plan import TLSPlan, resolve
    from ._probe import check
    from ._reload import CredentialsSource
    from ._report import CheckReport, ErrorClass
    from .adapters.aiokafka import aiokafka_config
    from .adapters.confluent_kafka import confluent_kafka_config
    from .adapters.kafka_python import kafka_python_config
    from .adapters.psycopg import KeyPermissionWarning, psycopg_params
else:

    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'tlsconnect' has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(__all__))
