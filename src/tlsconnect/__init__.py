"""tlsconnect: connect to managed data services over TLS, correctly, in one line.

>>> import tlsconnect
>>> creds = tlsconnect.Credentials.from_directory("creds")
>>> params = tlsconnect.params("psycopg", uri, credentials=creds)

The public names are those of ``__all__``; everything else is private.

``import tlsconnect`` loads nothing but this file: each public name is imported from
its private module the first time it is used (PEP 562, through ``_EXPORTS``), so importing
costs next to nothing, and ``cryptography`` and the drivers are loaded only when material
is parsed or a driver is used. Type checkers and editors read the explicit re-exports
below instead (``from ._x import name as name``); a test holds them, ``__all__`` and
``_EXPORTS`` equal.
"""

from ._version import __version__

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
    "ProjectReport",
    "ProviderAPIError",
    "SSLMode",
    "Service",
    "TLSConnectError",
    "TLSConnectWarning",
    "TLSDowngradeWarning",
    "TLSPlan",
    "Trust",
    "__version__",
    "aiokafka_config",
    "check",
    "check_project",
    "confluent_kafka_config",
    "drivers",
    "kafka_python_config",
    "params",
    "psycopg_params",
    "resolve",
    "ssl_context",
]

# The one lazy-export table: public name -> the private module that defines it.
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

# typing is not imported at run time (`import tlsconnect` stays cheap): type checkers take
# any name TYPE_CHECKING as typing's.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from ._errors import CertificateExpiryWarning as CertificateExpiryWarning
    from ._errors import ConfigError as ConfigError
    from ._errors import InsecureConnectionWarning as InsecureConnectionWarning
    from ._errors import KeyPermissionWarning as KeyPermissionWarning
    from ._errors import MissingDependencyError as MissingDependencyError
    from ._errors import ProviderAPIError as ProviderAPIError
    from ._errors import TLSConnectError as TLSConnectError
    from ._errors import TLSConnectWarning as TLSConnectWarning
    from ._errors import TLSDowngradeWarning as TLSDowngradeWarning
    from ._material import Credentials as Credentials
    from ._model import Driver as Driver
    from ._model import ErrorClass as ErrorClass
    from ._model import Service as Service
    from ._model import SSLMode as SSLMode
    from ._model import Trust as Trust
    from ._plan import TLSPlan as TLSPlan
    from ._plan import ssl_context as ssl_context
    from ._probe import check as check
    from ._project import ProjectReport as ProjectReport
    from ._project import check_project as check_project
    from ._reload import CredentialsSource as CredentialsSource
    from ._report import CheckReport as CheckReport
    from ._resolve import resolve as resolve
    from .adapters import aiokafka_config as aiokafka_config
    from .adapters import confluent_kafka_config as confluent_kafka_config
    from .adapters import drivers as drivers
    from .adapters import kafka_python_config as kafka_python_config
    from .adapters import params as params
    from .adapters import psycopg_params as psycopg_params
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


del TYPE_CHECKING
