"""Django: ``DATABASES["default"] = p`` for the PostgreSQL and the MySQL engine.

``p`` holds ``ENGINE``, ``NAME``, ``USER``, ``PASSWORD``, ``HOST``, ``PORT`` from the
target and ``OPTIONS`` with TLS in the engine's driver's own terms:

- ``django.db.backends.postgresql`` (psycopg, or psycopg2 where psycopg is not
  installed, as Django itself chooses): ``OPTIONS`` holds libpq's ``sslmode``,
  ``sslrootcert``, ``sslcert``, ``sslkey`` (and the target's other libpq keywords), as
  for ``psycopg.connect``; with psycopg2 they are checked against the libpq it loads.
- ``django.db.backends.mysql`` (mysqlclient): ``OPTIONS`` holds ``ssl`` (files) and
  ``ssl_mode``; never ``sslmode``, which Django and dj-database-url put there and which
  mysqlclient refuses (``TypeError``, dj-database-url #280). See ``_mysqlclient`` for what
  each mode verifies with each C library.

The engine follows the target (``postgres://`` or ``mysql://``); ``ENGINE=`` may name
another engine of the same database (PostGIS, a wrapper), and decides for ``host:port``.
Django's other settings (``CONN_MAX_AGE``, ``TEST``, ...) pass through; ``NAME``,
``USER``, ... given as options win over the target's; ``OPTIONS`` given join ours, none
replacing a TLS setting. Every value is JSON-ready, so ``tlsconnect config --driver
django`` writes the same dict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._conninfo import check_port, refuse_socket_hosts
from .._errors import ConfigError
from .._model import Service
from ._base import installed, refuse_server_name
from ._mysql import refuse_mysql_socket
from ._mysqlclient import TLS_KEYS as MYSQLCLIENT_TLS_KEYS
from ._mysqlclient import check_host, mysqlclient_tls
from ._sql import require_module, sql_target
from .psycopg import LIBPQ_TLS_KEYS, check_psycopg_libpq, libpq_tls, libpq_where
from .psycopg2 import check_psycopg2_libpq

if TYPE_CHECKING:
    from .._target import Target
    from ._base import Request

__all__ = ["ENGINES", "build", "parse"]

ENGINES = {
    Service.POSTGRESQL: "django.db.backends.postgresql",
    Service.MYSQL: "django.db.backends.mysql",
}
#: Each engine's database driver: (module, the tlsconnect extra that installs it).
_DRIVERS = {Service.POSTGRESQL: ("psycopg", "postgres"), Service.MYSQL: ("MySQLdb", "mysqlclient")}
_PG_SETTINGS = ("host", "port", "user", "password", "dbname")
_SETTINGS = ("NAME", "USER", "PASSWORD", "HOST", "PORT")


def _engine_service(engine: object) -> Service | None:
    if engine is None:
        return None
    if not isinstance(engine, str):
        raise ConfigError(f"ENGINE must be a string, not {type(engine).__name__}")
    return Service.MYSQL if "mysql" in engine.lower() else Service.POSTGRESQL


def parse(target: object, options: dict[str, Any]) -> Target:
    """A ``postgres://`` or ``mysql://`` service URI, a libpq ``key=value`` string, or
    ``host:port`` (PostgreSQL unless ``ENGINE=`` names a MySQL engine)."""
    return sql_target(target, _engine_service(options.get("ENGINE")) or Service.POSTGRESQL)


def build(request: Request) -> dict[str, Any]:
    spec, plan = request.target, request.plan
    engine = request.take("ENGINE")
    if _engine_service(engine) not in (None, spec.service):
        raise ConfigError(
            f"ENGINE={engine!r} is not an engine for the target's {spec.service.value} service"
        )
    psycopg2 = False
    if not request.durable:
        module, extra = _DRIVERS[spec.service]
        # Django's PostgreSQL engine uses psycopg, else psycopg2 (django.db.backends.
        # postgresql.psycopg_any), and so does this check.
        psycopg2 = module == "psycopg" and not installed(module) and installed("psycopg2")
        if not psycopg2:
            require_module(module, f"Django's {spec.service.value} engine", extra)
    settings: dict[str, Any] = {
        "ENGINE": engine or ENGINES[spec.service],
        "NAME": spec.dbname,
        "USER": spec.user,
        "PASSWORD": spec.password,
        "HOST": spec.host,
        "PORT": str(spec.port),
    }
    if spec.service is Service.POSTGRESQL and not spec.params.get("host"):
        # pg_target reads a missing host as libpq's default; Django passes HOST on as it is.
        settings["HOST"] = ""
    given_host = request.take("HOST")
    if given_host is not None:
        settings["HOST"] = given_host
    elif spec.service is Service.POSTGRESQL:
        given_host = spec.params.get("host")
    what = f"Django's {spec.service.value} engine"
    if spec.service is Service.MYSQL:
        refuse_mysql_socket(spec, what)
    refuse_socket_hosts(
        str(given_host if given_host is not None else settings["HOST"]),
        what,
        hostaddr=spec.params.get("hostaddr"),
    )
    for name in _SETTINGS:
        given = request.take(name)
        if given is not None:
            settings[name] = given
    if "PORT" in settings:
        check_port(str(settings["PORT"]), "PORT")
    settings = {name: value for name, value in settings.items() if value is not None}
    options: dict[str, Any]
    if spec.service is Service.POSTGRESQL:
        tls_keys: tuple[str, ...] = LIBPQ_TLS_KEYS
        options = {
            k: v
            for k, v in spec.params.items()
            if k not in _PG_SETTINGS and k not in LIBPQ_TLS_KEYS
        }
        options.update(libpq_tls(plan, durable=request.durable))
        if plan.server_name is not None:
            tls_keys = (*tls_keys, "hostaddr")
            # Where to connect is the HOST and PORT settings (the caller's win over the
            # target's), or the target's own hostaddr.
            address = {"host": str(settings.get("HOST", "")), "port": str(settings["PORT"])}
            if spec.params.get("hostaddr"):
                address["hostaddr"] = spec.params["hostaddr"]
            where = libpq_where(address, plan.server_name, durable=request.durable)
            settings["HOST"] = where.pop("host")
            settings["PORT"] = where.pop("port", settings["PORT"])
            options.update(where)
        if psycopg2:
            check_psycopg2_libpq(
                options,
                durable=request.durable,
                driver="Django's PostgreSQL engine (psycopg2)",
            )
        else:
            check_psycopg_libpq(options, durable=request.durable)
    else:
        tls_keys = MYSQLCLIENT_TLS_KEYS
        refuse_server_name(request, "mysqlclient has no option for the name to verify")
        check_host(str(settings["HOST"]), "Django's MySQL engine (mysqlclient)")
        options = dict(spec.params)
        options.update(mysqlclient_tls(plan, durable=request.durable, what="Django's MySQL engine"))
    given_options = dict(request.take("OPTIONS") or {})
    clashes = sorted(set(given_options) & set(tls_keys))
    if clashes:
        hint = (
            " (sslmode is libpq's word: mysqlclient refuses it)"
            if spec.service is Service.MYSQL and "sslmode" in clashes
            else ""
        )
        raise ConfigError(
            f"OPTIONS {', '.join(clashes)} would replace what tlsconnect set for TLS from "
            f"the plan{hint}; pass sslmode=, trust= or the material to tlsconnect instead"
        )
    options.update(given_options)
    settings["OPTIONS"] = options
    return request.finish(settings)
