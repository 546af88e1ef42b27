"""Closed sets of the domain: service types, sslmodes, trust stores and drivers.

Each enum parses user input case-insensitively, and its "unknown value" error lists
the valid values.
"""

from __future__ import annotations

import enum

from ._errors import ConfigError

# typing is not imported at run time (it is on the path of `import tlsconnect` and the
# first context); type checkers read this block.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    _E = TypeVar("_E", bound="_Parsable")

__all__ = [
    "CONFIG_DRIVERS",
    "DEFAULT_WARN_DAYS",
    "DEFAULT_WORKERS",
    "HTTP_SERVICES",
    "JAVA_FORMATS",
    "PROJECT_CA_SERVICES",
    "TEXT_DRIVERS",
    "Driver",
    "ErrorClass",
    "SSLMode",
    "SSLNegotiation",
    "Service",
    "Trust",
]


class _Parsable(str, enum.Enum):
    """A string enum with forgiving, case-insensitive parsing."""

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {}

    @classmethod
    def _what(cls) -> str:
        return cls.__name__

    @classmethod
    def parse(cls: type[_E], value: object) -> _E:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise ConfigError(
                f"{cls._what()} must be a string, not {type(value).__name__}; "
                f"use one of: {', '.join(m.value for m in cls)}"
            )
        key = value.strip().lower().replace("_", "-")
        key = cls._aliases().get(key, key)
        member = cls._value2member_map_.get(key)
        if member is not None:
            return member  # type: ignore[return-value]
        raise ConfigError(
            f"unknown {cls._what()} {value!r}; use one of: {', '.join(m.value for m in cls)}"
        )

    def __str__(self) -> str:
        return str(self.value)


class Service(_Parsable):
    """A managed service type."""

    POSTGRESQL = "postgresql"
    KAFKA = "kafka"
    KAFKA_CONNECT = "kafka-connect"
    SCHEMA_REGISTRY = "schema-registry"
    MYSQL = "mysql"
    REDIS = "redis"
    VALKEY = "valkey"
    OPENSEARCH = "opensearch"
    CLICKHOUSE = "clickhouse"
    GRAFANA = "grafana"
    CASSANDRA = "cassandra"
    FLINK = "flink"
    DRAGONFLY = "dragonfly"
    M3DB = "m3db"
    INFLUXDB = "influxdb"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {
            "pg": "postgresql",
            "postgres": "postgresql",
            "pgsql": "postgresql",
            "psql": "postgresql",
            "kafka-rest": "schema-registry",
            "karapace": "schema-registry",
            "elasticsearch": "opensearch",
            "mariadb": "mysql",
        }

    @classmethod
    def _what(cls) -> str:
        return "service"

    @property
    def uses_project_ca(self) -> bool:
        """Whether this service type presents a certificate from the project's private CA."""
        return SERVICE_TABLE[self][0]

    @property
    def issuer_reason(self) -> str:
        """Why this service type's certificates come from the issuer they come from."""
        return SERVICE_TABLE[self][1]


_PUBLIC_REASON = (
    "{name} servers present a certificate issued by a public CA, which certifi's Mozilla "
    "bundle already trusts (older services may still use the project CA: pass it and both "
    "are trusted)."
)

#: The one trust table: per service type, whether its servers present a certificate from
#: the project's private CA, and the reason ``explain()`` gives. Source: the provider's
#: TLS documentation ("Certificate requirements").
SERVICE_TABLE: dict[Service, tuple[bool, str]] = {
    Service.POSTGRESQL: (
        True,
        "postgresql servers present a certificate issued by the project's private CA; "
        "verify-ca and verify-full need that CA (ca.pem).",
    ),
    Service.MYSQL: (
        True,
        "mysql servers present a certificate issued by the project's private CA (the "
        "provider's current documentation); verify-ca and verify-full (MySQL's VERIFY_CA and "
        "VERIFY_IDENTITY) need that CA (ca.pem).",
    ),
    Service.KAFKA: (
        True,
        "kafka servers present a certificate issued by the project's private CA, for "
        "client-certificate and SASL authentication alike (services switched to publicly "
        "trusted SASL certificates are reached with trust='public').",
    ),
    **{
        service: (False, _PUBLIC_REASON.format(name=service.value))
        for service in (
            Service.KAFKA_CONNECT,
            Service.SCHEMA_REGISTRY,
            Service.REDIS,
            Service.VALKEY,
            Service.OPENSEARCH,
            Service.CLICKHOUSE,
            Service.GRAFANA,
            Service.CASSANDRA,
            Service.FLINK,
            Service.DRAGONFLY,
            Service.M3DB,
            Service.INFLUXDB,
        )
    },
}

PROJECT_CA_SERVICES = frozenset(s for s, (project, _) in SERVICE_TABLE.items() if project)

#: The service types reached over HTTPS (their REST or HTTP interface is what the console's
#: ``https://`` URI names): ``tlsconnect check`` speaks HTTP to them, and HTTP clients
#: (httpx, requests) reach them. ClickHouse is here for its HTTPS port, the one its
#: ``https://`` URI names (its native protocol port answers HTTP with a 400 that says so).
HTTP_SERVICES = frozenset(
    {
        Service.OPENSEARCH,
        Service.CLICKHOUSE,
        Service.GRAFANA,
        Service.KAFKA_CONNECT,
        Service.SCHEMA_REGISTRY,
        Service.FLINK,
        Service.M3DB,
        Service.INFLUXDB,
    }
)


class SSLMode(_Parsable):
    """libpq's sslmode words that still mean TLS."""

    REQUIRE = "require"
    VERIFY_CA = "verify-ca"
    VERIFY_FULL = "verify-full"

    @classmethod
    def _what(cls) -> str:
        return "sslmode"

    @classmethod
    def parse(cls, value: object) -> SSLMode:
        if isinstance(value, str) and value.strip().lower() in ("disable", "allow", "prefer"):
            raise ConfigError(
                f"sslmode {value!r} would allow a connection without TLS, and every managed "
                "service speaks only TLS; use 'verify-full' (recommended), 'verify-ca' or "
                "'require'"
            )
        return super().parse(value)


class SSLNegotiation(_Parsable):
    """libpq's sslnegotiation words (PostgreSQL 17+): how a PostgreSQL connection starts TLS.

    ``postgres`` (libpq's default) asks with the 8-byte SSLRequest and waits for the
    server's ``S``; ``direct`` starts the TLS handshake at once, one round trip fewer,
    offering ALPN "postgresql" (which PostgreSQL 17+ requires of a direct connection).
    """

    POSTGRES = "postgres"
    DIRECT = "direct"

    @classmethod
    def _what(cls) -> str:
        return "sslnegotiation"


class Trust(_Parsable):
    """Which issuers a client trusts."""

    PROJECT = "project"
    PUBLIC = "public"
    SYSTEM = "system"
    PROJECT_AND_PUBLIC = "project+public"
    NONE = "none"

    @classmethod
    def _what(cls) -> str:
        return "trust"

    @classmethod
    def parse(cls, value: object) -> Trust:
        if isinstance(value, str) and value.strip().lower() == "none":
            raise ConfigError(
                "trust='none' is not a choice: to verify nothing pass sslmode='require' "
                "without a CA; otherwise pass trust='project', 'public', 'system' or "
                "'project+public', or leave it out for the service type's default"
            )
        return super().parse(value)


class Driver(_Parsable):
    """A client library tlsconnect writes parameters for."""

    PSYCOPG = "psycopg"
    KAFKA_PYTHON = "kafka-python"
    CONFLUENT_KAFKA = "confluent-kafka"
    SCHEMA_REGISTRY = "schema-registry"
    AIOKAFKA = "aiokafka"
    ASYNCPG = "asyncpg"
    PG8000 = "pg8000"
    PSYCOPG2 = "psycopg2"
    SQLALCHEMY = "sqlalchemy"
    DJANGO = "django"
    REDIS = "redis"
    REDIS_ASYNCIO = "redis-asyncio"
    VALKEY = "valkey"
    VALKEY_ASYNCIO = "valkey-asyncio"
    PYMYSQL = "pymysql"
    AIOMYSQL = "aiomysql"
    MYSQL_CONNECTOR = "mysql-connector"
    HTTPX = "httpx"
    REQUESTS = "requests"
    AIOHTTP = "aiohttp"
    URLLIB3 = "urllib3"
    OPENSEARCH = "opensearch"
    CLICKHOUSE = "clickhouse"
    CLICKHOUSE_DRIVER = "clickhouse-driver"
    CASSANDRA = "cassandra"

    @classmethod
    def _what(cls) -> str:
        return "driver"


#: What ``tlsconnect config --driver`` writes besides the drivers' parameters: libpq's
#: environment variables and Java's client.properties.
TEXT_DRIVERS = ("libpq-env", "java-properties")
#: Every name ``tlsconnect config --driver`` takes (the parser needs them before any
#: adapter is loaded; a test holds them equal to the adapters' own list).
CONFIG_DRIVERS = tuple(sorted({*(driver.value for driver in Driver), *TEXT_DRIVERS}))
#: The keystore formats of the Java output; the first is the default.
JAVA_FORMATS = ("pkcs12", "pem")
#: ``check --project``: days before expiry that count as expiring.
DEFAULT_WARN_DAYS = 30
#: ``check --project``: checks at once. They wait on the network, not the CPU: enough for
#: a project of dozens of services to take about as long as its slowest one, few enough
#: to stay polite.
DEFAULT_WORKERS = 64


class ErrorClass(str, enum.Enum):
    """What went wrong in a check or a connection, as a closed set a program can act on."""

    UNREACHABLE = "unreachable"
    NO_TLS = "no_tls"
    UNTRUSTED_ISSUER = "untrusted_issuer"
    HOSTNAME_MISMATCH = "hostname_mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    CLIENT_CERT_REQUIRED = "client_cert_required"
    CLIENT_CERT_REJECTED = "client_cert_rejected"
    PROTOCOL_MISMATCH = "protocol_mismatch"
    VERIFICATION_FAILED = "verification_failed"
    HANDSHAKE_FAILED = "handshake_failed"
    PROTOCOL_ERROR = "protocol_error"

    def __str__(self) -> str:
        return str(self.value)
