"""tlsconnect: connect to managed data services over TLS, correctly, in one line.

>>> import tlsconnect
>>> creds = tlsconnect.Credentials.from_directory("creds")
>>> params = tlsconnect.params("psycopg", uri, credentials=creds)

The public names are the keys of ``_EXPORTS`` (and ``__all__``, made from it);
everything else is private.

``import tlsconnect`` loads nothing but this file: each public name is imported from
its private module the first time it is used (PEP 562), so importing costs next to
nothing, and ``cryptography`` and the drivers are loaded only when material is parsed or
a driver is used.
"""

from __future__ import annotations

from ._version import __version__

# The one export table: public name -> the private module that defines it.
_EXPORTS: dict[str, str] = {
    "CertificateExpiryWarning": "._errors",
    "CheckReport": "._report",
    "ConfigError": "._errors",
    "Credentials": "._material",
    "CredentialsSource": "._reload",
    "Driver": "._model",
    "ErrorClass": "._model",
    "InsecureConnectionWarning": "._errors",
    "KeyPermissionWarning": "._errors",
    "MissingDependencyError": "._errors",
    "ProjectReport": "._project",
    "ProviderAPIError": "._errors",
    "SSLMode": "._model",
    "Service": "._model",
    "TLSConnectError": "._errors",
    "TLSConnectWarning": "._errors",
    "TLSDowngradeWarning": "._errors",
    "TLSPlan": "._plan",
    "Trust": "._model",
    "aiokafka_config": ".adapters",
    "check": "._probe",
    "check_project": "._project",
    "confluent_kafka_config": ".adapters",
    "drivers": ".adapters",
    "kafka_python_config": ".adapters",
    "params": ".adapters",
    "psycopg_params": ".adapters",
    "resolve": "._resolve",
    "ssl_context": "._plan",
}

__all__ = sorted([*_EXPORTS, "__version__"])

# typing is not imported at run time: `import tlsconnect` stays cheap.
TYPE_CHECKING = False

if TYPE_CHECKING:
    # For type checkers and editors only; a test holds these equal to _EXPORTS.
    from ._errors import (
        CertificateExpiryWarning,
        ConfigError,
        InsecureConnectionWarning,
        KeyPermissionWarning,
        MissingDependencyError,
        ProviderAPIError,
        TLSConnectError,
        TLSConnectWarning,
        TLSDowngradeWarning,
    )
    from ._material import Credentials
    from ._model import Driver, ErrorClass, Service, SSLMode, Trust
    from ._plan import TLSPlan, ssl_context
    from ._probe import check
    from ._project import ProjectReport, check_project
    from ._reload import CredentialsSource
    from ._report import CheckReport
    from ._resolve import resolve
    from .adapters import (
        aiokafka_config,
        confluent_kafka_config,
        drivers,
        kafka_python_config,
        params,
        psycopg_params,
    )
else:

    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'tlsconnect' has no attribute {name!r}")
        # __import__ rather than importlib.import_module: importlib's package is not
        # otherwise needed, and `import tlsconnect` should cost next to nothing.
        value = getattr(__import__(module[1:], globals(), None, [name], 1), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(__all__))
