"""What the PyMySQL and aiomysql adapters share: the target (``mysql://user:password@
host:port/database?ssl-mode=REQUIRED``, ``host:port``, or ``host=`` among the options)
and the connection's keywords other than TLS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._conninfo import check_port, refuse_socket_hosts
from .._errors import ConfigError
from .._model import Service
from .._target import Target, parse_target

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["MYSQL_PORT", "connection_keywords", "parse", "refuse_mysql_socket"]

MYSQL_PORT = 3306
#: Where the target may be given as options instead (they win over the target's).
_WHERE = ("host", "port", "user", "password", "database", "db")
#: The URI query keys carried into the keywords, and how they are typed; any other key
#: is refused rather than dropped.
_QUERY_TYPES: dict[str, Any] = {
    "charset": str,
    "connect_timeout": int,
    "read_timeout": int,
    "write_timeout": int,
    "autocommit": lambda value: value.strip().lower() in ("1", "true", "yes", "on"),
    "program_name": str,
}


def parse(target: object, options: dict[str, Any]) -> Target:
    if target is None or target == "":
        if not options.get("host"):
            raise ConfigError(
                "mysql needs a target: the service URI (mysql://user:password@host:port/"
                "defaultdb?ssl-mode=REQUIRED) or host:port, or host= and port="
            )
        spec = Target(Service.MYSQL, str(options["host"]), MYSQL_PORT)
    elif not isinstance(target, str):
        raise ConfigError(f"target must be a string, not {type(target).__name__}")
    else:
        text = target.strip()
        if "://" not in text and ":" not in text:
            text = f"{text}:{MYSQL_PORT}"
        spec = parse_target(text, Service.MYSQL)
    if options.get("host"):
        spec.host = str(options["host"])
    if options.get("port") is not None:
        spec.port = check_port(str(options["port"]), "port=")
    if options.get("user") is not None:
        spec.user = str(options["user"])
    if options.get("password") is not None:
        spec.password = str(options["password"])
    database = options.get("database", options.get("db"))
    if database is not None:
        spec.dbname = str(database)
    return spec


def refuse_mysql_socket(target: Target, what: str, unix_socket: object = None) -> None:
    """Refuse what makes a MySQL driver use a Unix socket: a host that is empty or a path
    (:func:`~tlsconnect._conninfo.refuse_socket_hosts`), or ``unix_socket`` given as an
    option or in the target's query."""
    if unix_socket is not None or "unix_socket" in target.params:
        raise ConfigError(
            f"{what}: unix_socket= makes the driver use a local Unix socket, where no TLS is "
            "spoken and nothing is verified; leave it out and connect to the service's host"
        )
    refuse_socket_hosts(target.host, what)


def connection_keywords(request: Request, *, database_keyword: str) -> dict[str, Any]:
    """host, port, user, password, the database (as ``database_keyword``), and the
    target's known query keys."""
    for name in _WHERE:
        request.take(name)
    spec = request.target
    refuse_mysql_socket(spec, request.driver.value, request.take("unix_socket"))
    keywords: dict[str, Any] = {"host": spec.host, "port": spec.port}
    if spec.user is not None:
        keywords["user"] = spec.user
    if spec.password is not None:
        keywords["password"] = spec.password
    if spec.dbname:
        keywords[database_keyword] = spec.dbname
    for name, value in spec.params.items():
        kind = _QUERY_TYPES.get(name)
        if kind is None:
            raise ConfigError(
                f"target: ?{name}= is not a connection option tlsconnect carries over for "
                f"{request.driver.value}; pass it as a keyword ({name}=...) instead"
            )
        try:
            keywords[name] = kind(value)
        except ValueError:
            raise ConfigError(f"target: {name}={value!r} is not a valid value") from None
    return keywords
