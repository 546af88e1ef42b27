"""tlsconnect: connect to managed data services over TLS, correctly, in one line.

>>> import tlsconnect
>>> creds = tlsconnect.Credentials.from_directory("creds")
>>> params = tlsconnect.psycopg_params(uri, credentials=creds)

The public names are listed in ``__all__``; everything else is private.
"""

from __future__ import annotations

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
from .adapters.aiokafka import aiokafka_config
from .adapters.confluent_kafka import confluent_kafka_config
from .adapters.kafka_python import kafka_python_config
from .adapters.psycopg import KeyPermissionWarning, psycopg_params

__version__ = "0.1.0"

__all__ = [
    "CertificateExpiryWarning",
    "ConfigError",
    "Credentials",
    "Driver",
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
    "confluent_kafka_config",
    "kafka_python_config",
    "psycopg_params",
    "resolve",
    "ssl_context",
]
