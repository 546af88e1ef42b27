"""The drivers: one adapter per driver, same shape each, chosen through :data:`ADAPTERS`.

Every entry point that writes driver parameters (:func:`params`, and the named functions
such as :func:`psycopg_params`) goes through :func:`build_params`: parse the target,
complete the options from it, decide the plan, and hand both to the driver's adapter.
Adding a driver is one module with ``parse`` and ``build`` (see :mod:`._base`), one
:class:`~tlsconnect.Driver` member, and one entry here. No adapter imports its driver at
module level: ``import tlsconnect`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import MissingDependencyError
from .._model import Driver, Service
from .._plan import OPTIONS_DOC, Options, plan_for, warn_if_insecure
from . import (
    _http,
    _kafka,
    _mysql,
    aiohttp,
    aiokafka,
    aiomysql,
    asyncpg,
    cassandra,
    clickhouse,
    clickhouse_driver,
    confluent_kafka,
    django,
    httpx,
    kafka_python,
    mysql_connector,
    opensearch,
    pg8000,
    psycopg,
    psycopg2,
    pymysql,
    redis_py,
    requests,
    schema_registry,
    sqlalchemy,
    urllib3,
    valkey_py,
)
from ._base import Adapter, Request, installed

if TYPE_CHECKING:
    from pathlib import Path

    from .._material import Credentials
    from .._model import SSLMode, SSLNegotiation, Trust
    from .._pem import Material


__all__ = [
    "ADAPTERS",
    "aiokafka_config",
    "build_params",
    "confluent_kafka_config",
    "drivers",
    "kafka_python_config",
    "params",
    "psycopg_params",
    "require_driver",
]

ADAPTERS: dict[Driver, Adapter] = {
    Driver.PSYCOPG: Adapter(
        Driver.PSYCOPG,
        module="psycopg",
        extra="postgres",
        parse=psycopg.parse,
        build=psycopg.build,
        function="psycopg_params",
    ),
    Driver.KAFKA_PYTHON: Adapter(
        Driver.KAFKA_PYTHON,
        module="kafka",
        extra="kafka",
        parse=_kafka.parse,
        build=kafka_python.build,
        function="kafka_python_config",
    ),
    Driver.CONFLUENT_KAFKA: Adapter(
        Driver.CONFLUENT_KAFKA,
        module="confluent_kafka",
        extra="confluent",
        parse=_kafka.parse,
        build=confluent_kafka.build,
        function="confluent_kafka_config",
    ),
    Driver.SCHEMA_REGISTRY: Adapter(
        Driver.SCHEMA_REGISTRY,
        module="confluent_kafka",
        extra="schema-registry",
        parse=_http.parse_for(Service.SCHEMA_REGISTRY),
        build=schema_registry.build,
        usage=schema_registry.USAGE,
    ),
    Driver.AIOKAFKA: Adapter(
        Driver.AIOKAFKA,
        module="aiokafka",
        extra="aiokafka",
        parse=_kafka.parse,
        build=aiokafka.build,
        function="aiokafka_config",
        usage=aiokafka.USAGE,
    ),
    Driver.ASYNCPG: Adapter(
        Driver.ASYNCPG,
        module="asyncpg",
        extra="asyncpg",
        parse=asyncpg.parse,
        build=asyncpg.build,
        usage=asyncpg.USAGE,
    ),
    Driver.PG8000: Adapter(
        Driver.PG8000,
        module="pg8000",
        extra="pg8000",
        parse=pg8000.parse,
        build=pg8000.build,
        usage=pg8000.USAGE,
    ),
    Driver.PSYCOPG2: Adapter(
        Driver.PSYCOPG2,
        module="psycopg2",
        extra="psycopg2",
        parse=psycopg2.parse,
        build=psycopg2.build,
    ),
    Driver.SQLALCHEMY: Adapter(
        Driver.SQLALCHEMY,
        module="sqlalchemy",
        extra="sqlalchemy",
        parse=sqlalchemy.parse,
        build=sqlalchemy.build,
        usage=sqlalchemy.USAGE,
    ),
    Driver.DJANGO: Adapter(
        Driver.DJANGO,
        module="django",
        extra="django",
        parse=django.parse,
        build=django.build,
    ),
    Driver.REDIS: Adapter(
        Driver.REDIS,
        module="redis",
        extra="redis",
        parse=redis_py.parse,
        build=redis_py.build,
        usage=redis_py.USAGE,
    ),
    Driver.REDIS_ASYNCIO: Adapter(
        Driver.REDIS_ASYNCIO,
        module="redis",
        extra="redis",
        parse=redis_py.parse,
        build=redis_py.build_asyncio,
        usage=redis_py.USAGE_ASYNCIO,
    ),
    Driver.VALKEY: Adapter(
        Driver.VALKEY,
        module="valkey",
        extra="valkey",
        parse=valkey_py.parse,
        build=valkey_py.build,
        usage=valkey_py.USAGE,
    ),
    Driver.VALKEY_ASYNCIO: Adapter(
        Driver.VALKEY_ASYNCIO,
        module="valkey",
        extra="valkey",
        parse=valkey_py.parse,
        build=valkey_py.build_asyncio,
        usage=valkey_py.USAGE_ASYNCIO,
    ),
    Driver.PYMYSQL: Adapter(
        Driver.PYMYSQL,
        module="pymysql",
        extra="mysql",
        parse=_mysql.parse,
        build=pymysql.build,
    ),
    Driver.AIOMYSQL: Adapter(
        Driver.AIOMYSQL,
        module="aiomysql",
        extra="mysql",
        parse=_mysql.parse,
        build=aiomysql.build,
        usage=aiomysql.USAGE,
    ),
    Driver.MYSQL_CONNECTOR: Adapter(
        Driver.MYSQL_CONNECTOR,
        module="mysql.connector",
        extra="mysql-connector",
        parse=_mysql.parse,
        build=mysql_connector.build,
    ),
    Driver.HTTPX: Adapter(
        Driver.HTTPX,
        module="httpx",
        extra="httpx",
        parse=_http.parse_generic,
        build=httpx.build,
        usage=httpx.USAGE,
    ),
    Driver.REQUESTS: Adapter(
        Driver.REQUESTS,
        module="requests",
        extra="requests",
        parse=_http.parse_generic,
        build=requests.build,
        usage=requests.USAGE,
    ),
    Driver.AIOHTTP: Adapter(
        Driver.AIOHTTP,
        module="aiohttp",
        extra="aiohttp",
        parse=_http.parse_generic,
        build=aiohttp.build,
        usage=aiohttp.USAGE,
    ),
    Driver.URLLIB3: Adapter(
        Driver.URLLIB3,
        module="urllib3",
        extra="urllib3",
        parse=_http.parse_generic,
        build=urllib3.build,
        usage=urllib3.USAGE,
    ),
    Driver.OPENSEARCH: Adapter(
        Driver.OPENSEARCH,
        module="opensearchpy",
        extra="opensearch",
        parse=_http.parse_for(Service.OPENSEARCH),
        build=opensearch.build,
    ),
    Driver.CLICKHOUSE: Adapter(
        Driver.CLICKHOUSE,
        module="clickhouse_connect",
        extra="clickhouse",
        parse=_http.parse_for(Service.CLICKHOUSE),
        build=clickhouse.build,
        usage=clickhouse.USAGE,
    ),
    Driver.CLICKHOUSE_DRIVER: Adapter(
        Driver.CLICKHOUSE_DRIVER,
        module="clickhouse_driver",
        extra="clickhouse-driver",
        parse=clickhouse_driver.parse,
        build=clickhouse_driver.build,
    ),
    Driver.CASSANDRA: Adapter(
        Driver.CASSANDRA,
        module="cassandra",
        extra="cassandra",
        parse=_http.parse_for(Service.CASSANDRA),
        build=cassandra.build,
        usage=cassandra.USAGE,
    ),
}


def drivers() -> tuple[str, ...]:
    """The names :func:`params` accepts, sorted."""
    return tuple(sorted(driver.value for driver in ADAPTERS))


def require_driver(adapter: Adapter) -> None:
    """Raise :class:`MissingDependencyError` when the driver is not installed (no import)."""
    if not installed(adapter.module):
        name = f"{adapter.function}()" if adapter.function else f"params({adapter.driver.value!r})"
        raise MissingDependencyError(
            f"{name} writes parameters for {adapter.driver.value}, which is not "
            f'installed; install it with: pip install "tlsconnect[{adapter.extra}]"'
        )


def build_params(
    driver: str | Driver,
    target: object,
    options: Options,
    driver_options: dict[str, Any],
    *,
    durable: bool = False,
    output_dir: Path | None = None,
    written: list[Path] | None = None,
) -> dict[str, Any]:
    """The one path from (driver, target, options) to the driver's parameters.

    ``durable``: the result is written out (``tlsconnect config``): JSON-ready, naming
    files that outlive the process; the driver itself need not be installed. Files made
    for it go to ``output_dir`` and are added to ``written``.
    """
    adapter = ADAPTERS[Driver.parse(driver)]
    if not durable:
        require_driver(adapter)
    spec = adapter.parse(target, dict(driver_options))
    plan = plan_for(spec, options)
    request = Request(
        adapter.driver,
        plan,
        spec,
        driver_options,
        durable=durable,
        output_dir=output_dir,
        written=written,
    )
    result = adapter.build(request)
    warn_if_insecure(plan)
    return result


def params(
    driver: str | Driver,
    target: object = "",
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
    **driver_options: Any,
) -> dict[str, Any]:
    """A new dict of ``driver``'s parameters for ``target``, verifying what the plan says.

    ``driver`` is one of :func:`drivers`; ``target`` what the console shows (a service URI,
    a libpq ``key=value`` string, ``host:port``, a Kafka bootstrap list). Options the
    driver takes that are not about TLS (``connect_timeout=``, ``client_id=``, ...) are
    passed through; none may replace a TLS setting.
    """
    options = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    return build_params(driver, target, options, driver_options)


def psycopg_params(
    conninfo: str = "",
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A new dict for ``psycopg.connect(**params)``: ``params("psycopg", conninfo, ...)``.

    ``conninfo`` is a ``postgresql://`` URI or a ``key=value`` string; every key in it is
    kept, then ``overrides`` are applied. An ``sslmode`` inside ``conninfo`` is honoured
    unless ``sslmode`` is given; so are ``sslrootcert``, ``sslcert``, ``sslkey`` and
    ``sslpassword`` unless material is given as arguments.
    """
    options = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    return build_params(Driver.PSYCOPG, conninfo, options, overrides)


def _kafka_config(
    driver: Driver, bootstrap_servers: object, options: Options, sasl: dict[str, str | None]
) -> dict[str, Any]:
    given = {name: value for name, value in sasl.items() if value is not None}
    return build_params(driver, bootstrap_servers, options, given)


def kafka_python_config(
    bootstrap_servers: str | list[str],
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
) -> dict[str, Any]:
    """A new dict for ``KafkaProducer(**cfg)``, ``KafkaConsumer(topic, **cfg)`` and
    ``KafkaAdminClient(**cfg)``: ``SSL`` with a client certificate, ``SASL_SSL`` with SASL."""
    options = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    sasl = {
        "sasl_mechanism": sasl_mechanism,
        "sasl_username": sasl_username,
        "sasl_password": sasl_password,
    }
    return _kafka_config(Driver.KAFKA_PYTHON, bootstrap_servers, options, sasl)


def confluent_kafka_config(
    bootstrap_servers: str | list[str],
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
) -> dict[str, Any]:
    """A new librdkafka property dict for ``Producer(cfg)`` / ``Consumer({**cfg, ...})``."""
    options = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    sasl = {
        "sasl_mechanism": sasl_mechanism,
        "sasl_username": sasl_username,
        "sasl_password": sasl_password,
    }
    return _kafka_config(Driver.CONFLUENT_KAFKA, bootstrap_servers, options, sasl)


def aiokafka_config(
    bootstrap_servers: str | list[str],
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
) -> dict[str, Any]:
    """A new dict for ``AIOKafkaProducer(**cfg)`` and ``AIOKafkaConsumer(topic, **cfg)``."""
    options = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    sasl = {
        "sasl_mechanism": sasl_mechanism,
        "sasl_username": sasl_username,
        "sasl_password": sasl_password,
    }
    return _kafka_config(Driver.AIOKAFKA, bootstrap_servers, options, sasl)


_SASL_DOC = """- ``sasl_mechanism`` (``SCRAM-SHA-256`` by default, ``SCRAM-SHA-512``, ``PLAIN``),
  ``sasl_username``, ``sasl_password``: SASL instead of a client certificate.
"""
kafka_python_config.__doc__ = (kafka_python_config.__doc__ or "") + OPTIONS_DOC + _SASL_DOC
confluent_kafka_config.__doc__ = (confluent_kafka_config.__doc__ or "") + OPTIONS_DOC + _SASL_DOC
aiokafka_config.__doc__ = (aiokafka_config.__doc__ or "") + OPTIONS_DOC + _SASL_DOC
params.__doc__ = (params.__doc__ or "") + OPTIONS_DOC
psycopg_params.__doc__ = (psycopg_params.__doc__ or "") + OPTIONS_DOC
