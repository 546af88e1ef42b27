"""SQLAlchemy: ``create_engine(**p)`` / ``create_async_engine(**p)``, ``p`` holding ``url``
and ``connect_args``.

SQLAlchemy hands a URL's query keys to the driver as keywords, so the console's
``?sslmode=require`` breaks ``create_async_engine`` with asyncpg (``TypeError``;
SQLAlchemy #6275, asyncpg #737), and ``?ssl_ca=`` makes PyMySQL encrypt without verifying
anything. Here the URL carries no TLS word: user, password, host, port and database (and
the target's other keys) go into it, and TLS into ``connect_args``, in each driver's own
terms:

========================  =================================================
The dialect is the URI's ``+driver`` (``postgresql+asyncpg://``), else the ``dialect=``
option, else, for PostgreSQL, the driver the installed SQLAlchemy maps a plain
``postgresql://`` to (2.0: psycopg2; 2.1: psycopg), and PyMySQL for MySQL. Written out
where SQLAlchemy is not installed, a plain PostgreSQL target stays ``postgresql://``:
its ``connect_args`` are libpq's, which psycopg and psycopg2 read alike, so whichever
SQLAlchemy reads it maps it. Written out (``tlsconnect config``), a context is described
under ``connect_args["tls"]``; see :data:`USAGE`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlencode

from .._conninfo import refuse_socket_hosts
from .._errors import ConfigError
from .._model import Service
from ._base import installed
from ._mysql import refuse_mysql_socket
from ._mysqlclient import TLS_KEYS as MYSQLCLIENT_TLS_KEYS
from ._mysqlclient import check_host, mysqlclient_tls
from ._recipe import context_files, usage
from ._sql import require_module, sql_target, variant
from .asyncpg import TLS_KEYS as ASYNCPG_TLS_KEYS
from .asyncpg import asyncpg_keywords, asyncpg_negotiation
from .mysql_connector import TLS_KEYS as MYSQL_CONNECTOR_TLS_KEYS
from .mysql_connector import mysql_connector_tls
from .pg8000 import TLS_KEYS as PG8000_TLS_KEYS
from .pg8000 import pg8000_keywords
from .psycopg import LIBPQ_TLS_KEYS, check_psycopg_libpq, libpq_tls, libpq_where
from .psycopg2 import check_psycopg2_libpq
from .pymysql import TLS_KEYS as PYMYSQL_TLS_KEYS

if TYPE_CHECKING:
    from .._target import Target
    from ._base import Request

__all__ = ["DIALECTS", "USAGE", "build", "parse"]

USAGE = usage(
    "cfg['connect_args'].pop('tls')",
    "cfg['connect_args']['ssl_context' if '+pg8000' in cfg['url'] else 'ssl'] = context; "
    "engine = (create_async_engine if '+asyncpg' in cfg['url'] else create_engine)(**cfg)",
    when="for postgresql+asyncpg, postgresql+pg8000 and mysql+pymysql URLs (connect_args "
    "holds 'tls'), ",
)

#: PyMySQL's TLS keywords in connect_args (``ssl_ca`` alone turns verification off): the
#: pymysql adapter's, and the words a written-out or libpq-minded configuration adds.
_PYMYSQL_TLS_KEYS = (*PYMYSQL_TLS_KEYS, "tls", "sslmode", "unix_socket")


class Dialect(NamedTuple):
    service: Service
    drivername: str  # SQLAlchemy's name for it
    dbapi: str  # the module SQLAlchemy imports
    extra: str  # the tlsconnect extra that installs it
    tls_keys: tuple[str, ...]  # connect_args only tlsconnect sets


DIALECTS: dict[str, Dialect] = {
    "psycopg": Dialect(
        Service.POSTGRESQL, "postgresql+psycopg", "psycopg", "postgres", LIBPQ_TLS_KEYS
    ),
    "psycopg2": Dialect(
        Service.POSTGRESQL, "postgresql+psycopg2", "psycopg2", "psycopg2", LIBPQ_TLS_KEYS
    ),
    "asyncpg": Dialect(
        Service.POSTGRESQL, "postgresql+asyncpg", "asyncpg", "asyncpg", ASYNCPG_TLS_KEYS
    ),
    "pg8000": Dialect(Service.POSTGRESQL, "postgresql+pg8000", "pg8000", "pg8000", PG8000_TLS_KEYS),
    "pymysql": Dialect(Service.MYSQL, "mysql+pymysql", "pymysql", "mysql", _PYMYSQL_TLS_KEYS),
    "mysqldb": Dialect(
        Service.MYSQL, "mysql+mysqldb", "MySQLdb", "mysqlclient", MYSQLCLIENT_TLS_KEYS
    ),
    "mysqlconnector": Dialect(
        Service.MYSQL,
        "mysql+mysqlconnector",
        "mysql.connector",
        "mysql-connector",
        MYSQL_CONNECTOR_TLS_KEYS,
    ),
}
_ALIASES = {
    "mysqlclient": "mysqldb",
    "psycopg3": "psycopg",
    "mysql-connector": "mysqlconnector",
    "mysql_connector": "mysqlconnector",
}
_DEFAULT = {Service.POSTGRESQL: "psycopg", Service.MYSQL: "pymysql"}
#: A plain ``postgresql://`` written out where no SQLAlchemy says what it maps to: libpq's
#: ``connect_args`` suit both drivers it may map to (psycopg, psycopg2).
_PLAIN_POSTGRESQL = Dialect(Service.POSTGRESQL, "postgresql", "psycopg", "postgres", LIBPQ_TLS_KEYS)
#: The dialects whose ``connect_args`` are libpq's TLS keywords.
_LIBPQ_DIALECTS = ("postgresql+psycopg", "postgresql+psycopg2", "postgresql")
#: The PostgreSQL keywords the URL holds in its own places.
_PG_URL_KEYS = ("host", "port", "user", "password", "dbname")


def _dialect_name(value: object, what: str) -> str:
    name = str(value).strip().lower()
    name = _ALIASES.get(name, name)
    if name not in DIALECTS:
        raise ConfigError(
            f"{what} {value!r} is not a dialect tlsconnect writes parameters for; use one "
            f"of: {', '.join(DIALECTS)} (e.g. postgresql+asyncpg://…, mysql+pymysql://…)"
        )
    return name


def parse(target: object, options: dict[str, Any]) -> Target:
    """A PostgreSQL or MySQL service URI (SQLAlchemy's ``+driver`` allowed), a libpq
    ``key=value`` string, or ``host:port`` for the database ``dialect=`` names."""
    given = options.get("dialect")
    default = Service.POSTGRESQL
    if given is not None:
        default = DIALECTS[_dialect_name(given, "dialect")].service
    return sql_target(target, default)


def _postgresql_default() -> str | None:
    """The driver the installed SQLAlchemy maps a plain ``postgresql://`` to (2.0:
    psycopg2, 2.1: psycopg), or ``None`` when SQLAlchemy is not installed here."""
    if not installed("sqlalchemy"):
        return None
    from sqlalchemy.engine import make_url

    return str(make_url("postgresql://").get_dialect().driver)


def _choose(request: Request) -> Dialect:
    spec = request.target
    given = request.take("dialect")
    from_scheme = variant(spec)
    name = _DEFAULT.get(spec.service, "psycopg")
    if spec.service is Service.POSTGRESQL and from_scheme is None and given is None:
        mapped = _postgresql_default()
        if mapped is None:
            return _PLAIN_POSTGRESQL
        name = _dialect_name(mapped, "SQLAlchemy's own postgresql:// driver")
    if from_scheme is not None:
        name = _dialect_name(from_scheme, f"the target's {spec.scheme}://")
    if given is not None:
        chosen = _dialect_name(given, "dialect")
        if from_scheme is not None and chosen != name:
            raise ConfigError(
                f"dialect={given!r} contradicts the target's {spec.scheme}://; give one of them"
            )
        name = chosen
    dialect = DIALECTS[name]
    if dialect.service is not spec.service:
        raise ConfigError(
            f"the {dialect.drivername} dialect is for {dialect.service.value}, but the target "
            f"is a {spec.service.value} service"
        )
    return dialect


def _url_text(
    drivername: str,
    user: str | None,
    password: str | None,
    host: str,
    port: int,
    database: str | None,
    query: dict[str, str],
) -> str:
    """The URL as SQLAlchemy's ``make_url`` parses it back: user and password
    percent-quoted (every version unquotes them); the database quoted only where it must be
    (``%``, ``?``, ``#``, ``/``), because SQLAlchemy 2.0 keeps a database name's escapes as
    they are and 2.1 unquotes them."""
    auth = ""
    if user is not None:
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        auth += "@"
    where = f"[{host}]" if ":" in host else host
    path = "/" + quote(database, safe=" !$&'()*+,;=:@~") if database else ""
    tail = "?" + urlencode(query) if query else ""
    return f"{drivername}://{auth}{where}:{port}{path}{tail}"


def build(request: Request) -> dict[str, Any]:
    """``url`` without TLS words and ``connect_args`` with the plan's TLS (the caller's
    ``connect_args`` join them, none replacing a TLS setting)."""
    dialect = _choose(request)
    if not request.durable:
        require_module(dialect.dbapi, f"SQLAlchemy's {dialect.drivername} dialect", dialect.extra)
    if request.take("url") is not None:
        raise ConfigError("pass the URL as the target, not as url=")
    spec, plan = request.target, request.plan
    if spec.service is Service.POSTGRESQL:
        refuse_socket_hosts(spec.params.get("host"), "SQLAlchemy")
        if "," in spec.params.get("host", ""):
            raise ConfigError(
                "a SQLAlchemy URL names one host; pass one host of the service (its "
                "replicas have their own URIs)"
            )
        extras = {k: v for k, v in spec.params.items() if k not in _PG_URL_KEYS + LIBPQ_TLS_KEYS}
    else:
        refuse_mysql_socket(spec, "SQLAlchemy")
        extras = dict(spec.params)
    query: dict[str, str] = {}
    connect_args: dict[str, Any]
    name = dialect.drivername
    if name in _LIBPQ_DIALECTS:
        query = extras
        connect_args = libpq_tls(plan, durable=request.durable)
        if plan.server_name is not None:
            # connect_args win over the URL's host and port (SQLAlchemy's rule): libpq
            # then verifies host= the name and connects to hostaddr=.
            connect_args.update(libpq_where(spec.params, plan.server_name, durable=request.durable))
        if name == "postgresql+psycopg2":
            check_psycopg2_libpq(
                connect_args, durable=request.durable, driver=f"SQLAlchemy's {name} dialect"
            )
        else:
            check_psycopg_libpq(connect_args, durable=request.durable)
    elif name == "postgresql+asyncpg":
        connect_args = asyncpg_keywords(extras)
        connect_args.update(_context(request))
        connect_args.update(asyncpg_negotiation(request))
    elif name == "postgresql+pg8000":
        connect_args = pg8000_keywords({**extras, "host": spec.host})
        del connect_args["host"], connect_args["port"]  # the URL holds them
        if request.durable:
            connect_args["tls"] = context_files(request, "SQLAlchemy")
        else:
            connect_args["ssl_context"] = plan.ssl_context()
    elif name == "mysql+pymysql":
        query = extras
        connect_args = _context(request)
    elif name == "mysql+mysqlconnector":
        if spec.host.startswith("/"):
            raise ConfigError(
                f"host {spec.host!r} names a Unix socket, where no TLS is spoken; pass the "
                "service's host name"
            )
        query = extras
        connect_args = mysql_connector_tls(
            plan, durable=request.durable, what="SQLAlchemy's mysql+mysqlconnector dialect"
        )
    else:
        check_host(spec.host, "SQLAlchemy's mysql+mysqldb dialect (mysqlclient)")
        query = extras
        connect_args = mysqlclient_tls(
            plan, durable=request.durable, what="SQLAlchemy's mysql+mysqldb dialect"
        )
    given = dict(request.take("connect_args") or {})
    protected = set(dialect.tls_keys)
    if plan.server_name is not None:
        protected |= {"host", "hostaddr", "server_hostname"}
    clashes = sorted(set(given) & protected)
    if clashes:
        raise ConfigError(
            f"connect_args {', '.join(clashes)} would replace what tlsconnect set for TLS "
            f"from the plan ({name}); pass sslmode=, trust= or the material instead"
        )
    connect_args.update(given)
    parts = (name, spec.user, spec.password, spec.host, spec.port, spec.dbname, query)
    url: Any
    if request.durable:
        url = _url_text(*parts)
    else:
        from sqlalchemy.engine import URL

        url = URL.create(
            name,
            username=spec.user,
            password=spec.password,
            host=spec.host,
            port=spec.port,
            database=spec.dbname,
            query=query,
        )
    return request.finish({"url": url, "connect_args": connect_args})


def _context(request: Request) -> dict[str, Any]:
    """``ssl=`` the plan's context (written out: its recipe under ``tls``)."""
    if request.durable:
        return {"tls": context_files(request, "SQLAlchemy")}
    return {"ssl": request.plan.ssl_context()}
