"""redis-py: ``redis.Redis(**p)`` and ``redis.asyncio.Redis(**p)``, for Redis and Valkey.

redis-py takes no ``ssl.SSLContext`` (redis-py #3599). Its own options build one with
``ssl.create_default_context()``, which loads OpenSSL's default paths (the system store,
or whatever ``SSL_CERT_FILE``/``SSL_CERT_DIR`` name), and then *adds* the CA given: with
them, a plan that trusts only the project CA would trust every CA of the machine too.
So the parameters hand redis-py a connection pool whose connection class wraps the
socket with the plan's own context and nothing else: a subclass of redis-py's
``SSLConnection`` (its ``_connect`` for the sync client, the ``ssl`` argument of its
``_connection_arguments`` for asyncio: the same hooks in redis-py 5.0 to 8.x). Host
names are checked exactly when the plan says (redis-py 6.0 made its own check the
default; before that it was off), whatever the version.

``redis.Redis`` ignores its connection options when it is given a pool, so every option
the connections take goes into the pool; the few that ``Redis`` itself reads
(``single_connection_client``) stay at the top; an option ``Redis`` would silently
ignore next to a pool is a :class:`~tlsconnect.ConfigError`. The pool is the caller's:
``Redis.close()`` leaves it open (redis-py's rule for a pool it was given);
``p["connection_pool"].disconnect()`` closes its connections.

Written out (``tlsconnect config``), the connection keywords are the pool's, and
``tls`` names the files the context is built from; :data:`USAGE` gives the lines.

valkey-py is a fork of redis-py 5 with the same classes and hooks under other names
(``valkey.Valkey``, ``valkey.SSLConnection``, ...): :class:`Library` names them, and
:mod:`.valkey_py` builds with this module's functions.
"""

from __future__ import annotations

import importlib
import inspect
import ssl
from typing import TYPE_CHECKING, Any

from .._conninfo import check_port
from .._errors import ConfigError
from .._model import Service
from .._target import Target, parse_target
from ._recipe import CONTEXT_LINES, context_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._base import Request

__all__ = [
    "REDIS",
    "USAGE",
    "USAGE_ASYNCIO",
    "Library",
    "build",
    "build_asyncio",
    "build_asyncio_for",
    "build_for",
    "parse",
    "parse_for",
    "usage_for",
]


class Library:
    """Where one redis-py-shaped library keeps what the adapter uses: its import name,
    its client class's name, the module of its URL query parsers, the service a target
    that does not say means, and how it is spelled in messages."""

    __slots__ = ("client", "module", "name", "parsers_module", "service")

    def __init__(
        self, module: str, client: str, parsers_module: str, service: Service, name: str
    ) -> None:
        self.module = module
        self.client = client
        self.parsers_module = parsers_module
        self.service = service
        self.name = name


REDIS = Library("redis", "Redis", "redis.connection", Service.REDIS, "redis-py")


def usage_for(library: Library, *, asyncio: bool) -> str:
    """The lines that build the client from a written-out configuration."""
    lib = library.module
    flavour = f"{lib}.asyncio" if asyncio else lib
    json_name = f"{lib}-asyncio.json" if asyncio else f"{lib}.json"
    if asyncio:
        hook = (
            "    def _connection_arguments(self):",
            f"        return {{**{flavour}.Connection._connection_arguments(self), "
            '"ssl": context}',
        )
    else:
        hook = (
            "    def _connect(self):",
            f"        return context.wrap_socket({lib}.Connection._connect(self), "
            "server_hostname=self.host)",
        )
    return "\n  ".join(
        (
            f"use ({library.name} takes no SSLContext, and its ssl_ca_certs= would add the CA "
            "to the system store; this context trusts tls['cafiles'] alone):",
            f'cfg = json.loads(pathlib.Path("{json_name}").read_text()); tls = cfg.pop("tls")',
            *CONTEXT_LINES,
            f"class Connection({flavour}.SSLConnection):",
            *hook,
            f"client = {flavour}.{library.client}(connection_pool={flavour}.ConnectionPool("
            "connection_class=Connection, **cfg))",
        )
    )


USAGE = usage_for(REDIS, asyncio=False)
USAGE_ASYNCIO = usage_for(REDIS, asyncio=True)

#: Options redis.Redis reads itself even when it is given a pool.
_CLIENT_OPTIONS = frozenset({"single_connection_client", "event_dispatcher"})
#: Options the pool reads from its connection keywords (not named in its signature).
_POOL_OPTIONS = frozenset({"cache", "cache_config", "event_dispatcher"})
#: Where the target may be given as options instead (they win over the target's).
_WHERE = ("host", "port", "db", "username", "password")
#: redis-py's TLS options: tlsconnect sets TLS, never these.
_TLS_KEYS = (
    "ssl",
    "ssl_keyfile",
    "ssl_certfile",
    "ssl_cert_reqs",
    "ssl_include_verify_flags",
    "ssl_exclude_verify_flags",
    "ssl_ca_certs",
    "ssl_ca_data",
    "ssl_ca_path",
    "ssl_check_hostname",
    "ssl_password",
    "ssl_validate_ocsp",
    "ssl_validate_ocsp_stapled",
    "ssl_ocsp_context",
    "ssl_ocsp_expected_cert",
    "ssl_min_version",
    "ssl_ciphers",
    "connection_pool",
    "connection_class",
    "unix_socket_path",
)


def parse_for(library: Library) -> Callable[[object, dict[str, Any]], Target]:
    """``parse`` for ``library``: ``rediss://[user:password@]host[:port][/db]``,
    ``valkeys://...``, ``host:port``, or nothing with ``host=`` (and ``port=``) among the
    options; ``service=`` names the service type where the target does not say."""

    def parse(target: object, options: dict[str, Any]) -> Target:
        service = Service.parse(options.get("service") or library.service)
        if service not in (Service.REDIS, Service.VALKEY):
            raise ConfigError(
                f"{library.name} connects to redis or valkey, not service={service.value}"
            )
        if target is None or target == "":
            if not options.get("host"):
                raise ConfigError(
                    f"{library.module} needs a target: the service URI "
                    "(rediss://user:password@host:port) or host:port, or host= and port="
                )
            spec = Target(service, str(options["host"]), 6379)
        elif not isinstance(target, str):
            raise ConfigError(f"target must be a string, not {type(target).__name__}")
        else:
            text = target.strip()
            if "://" not in text and ":" not in text:
                text = f"{text}:6379"
            spec = parse_target(text, service)
            if "service" not in options and spec.scheme in ("valkeys", "valkey"):
                service = Service.VALKEY
            spec.service = service
        if options.get("host"):
            spec.host = str(options["host"])
        if options.get("port") is not None:
            spec.port = check_port(str(options["port"]), "port=")
        if options.get("username") is not None:
            spec.user = str(options["username"])
        if options.get("password") is not None:
            spec.password = str(options["password"])
        if options.get("db") is not None:
            spec.params["db"] = str(options["db"])
        return spec

    parse.__doc__ = parse_for.__doc__
    return parse


parse = parse_for(REDIS)


#: How the target's query values are typed when redis-py is not imported (``config``),
#: as redis-py's own URL parser types them.
_QUERY_TYPES: dict[str, Any] = {
    "db": int,
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "socket_read_size": int,
    "max_connections": int,
    "health_check_interval": int,
    "protocol": int,
    "timeout": float,
}


def _connection_keywords(request: Request, parsers: dict[str, Any]) -> dict[str, Any]:
    """host, port, db, username, password, the target's other query keys (typed by
    ``parsers``), and the switches that say what the context checks (so that a
    connection's attributes tell the truth)."""
    for name in (*_WHERE, "service"):
        request.take(name)
    spec = request.target
    keywords: dict[str, Any] = {"host": spec.host, "port": spec.port, "db": 0}
    for name, value in spec.params.items():
        parser = parsers.get(name)
        try:
            keywords[name] = parser(value) if parser else value
        except (TypeError, ValueError):
            raise ConfigError(f"target: {name}={value!r} is not a valid value") from None
    if spec.user is not None:
        keywords["username"] = spec.user
    if spec.password is not None:
        keywords["password"] = spec.password
    plan = request.plan
    keywords["ssl_cert_reqs"] = "required" if plan.verify_chain else "none"
    keywords["ssl_check_hostname"] = plan.check_hostname
    return keywords


def _durable(request: Request) -> dict[str, Any]:
    keywords = _connection_keywords(request, _QUERY_TYPES)
    keywords["tls"] = context_files(request, request.driver.value)
    return request.finish(keywords, tls_keys=_TLS_KEYS)


def _parsers(library: Library) -> dict[str, Any]:
    """The library's own URL query parsers (redis-py's and valkey-py's URL reader types the
    same keys alike), or :data:`_QUERY_TYPES` where a version keeps them elsewhere."""
    try:
        module = importlib.import_module(library.parsers_module)
    except ImportError:
        return dict(_QUERY_TYPES)
    found = getattr(module, "URL_QUERY_ARGUMENT_PARSERS", None)
    return dict(found) if found is not None else dict(_QUERY_TYPES)


def _parameters(*functions: Any) -> set[str]:
    names: set[str] = set()
    for function in functions:
        names.update(
            name
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
        )
    names.discard("self")
    return names


def _split_options(
    request: Request, client: Any, pool: Any, connection: type
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options not consumed yet: (for the pool's connections, for ``Redis`` itself)."""
    request.finish({}, tls_keys=_TLS_KEYS)  # refuses any option that is about TLS
    inits = [vars(klass)["__init__"] for klass in connection.__mro__ if "__init__" in vars(klass)]
    pooled = _parameters(pool.__init__, *inits) | _POOL_OPTIONS
    client_names = _parameters(client.__init__)
    for_pool: dict[str, Any] = {}
    for_client: dict[str, Any] = {}
    for name, value in request.rest().items():
        if name in _CLIENT_OPTIONS:
            for_client[name] = value
        if name in pooled:
            for_pool[name] = value
        elif name in _CLIENT_OPTIONS:
            pass
        elif name in client_names:
            raise ConfigError(
                f"{name}= is ignored by {client.__module__.split('.')[0]}'s "
                f"{client.__qualname__} when it is given a connection pool, which is how "
                "tlsconnect hands redis-py the plan's SSLContext (redis-py takes none "
                "itself); leave it out"
            )
        else:
            raise ConfigError(f"{client.__qualname__} takes no option {name!r}")
    return for_pool, for_client


def build_for(request: Request, library: Library) -> dict[str, Any]:
    """``{"connection_pool": ...}`` for ``library``'s client (``redis.Redis(**p)``)."""
    if request.durable:
        return _durable(request)
    lib = importlib.import_module(library.module)
    connection = importlib.import_module(f"{library.module}.connection")
    keywords = _connection_keywords(request, _parsers(library))
    connection_class = _sync_connection_class(
        request.plan.ssl_context(), connection.Connection, connection.SSLConnection
    )
    client = getattr(lib, library.client)
    for_pool, for_client = _split_options(request, client, lib.ConnectionPool, connection_class)
    pool = lib.ConnectionPool(connection_class=connection_class, **keywords, **for_pool)
    return {"connection_pool": pool, **for_client}


def build_asyncio_for(request: Request, library: Library) -> dict[str, Any]:
    """``{"connection_pool": ...}`` for ``library``'s asyncio client
    (``redis.asyncio.Redis(**p)``)."""
    if request.durable:
        return _durable(request)
    lib = importlib.import_module(f"{library.module}.asyncio")
    connection = importlib.import_module(f"{library.module}.asyncio.connection")
    keywords = _connection_keywords(request, _parsers(library))
    connection_class = _asyncio_connection_class(
        request.plan.ssl_context(), connection.Connection, connection.SSLConnection
    )
    client = getattr(lib, library.client)
    for_pool, for_client = _split_options(request, client, lib.ConnectionPool, connection_class)
    pool = lib.ConnectionPool(connection_class=connection_class, **keywords, **for_pool)
    return {"connection_pool": pool, **for_client}


def build(request: Request) -> dict[str, Any]:
    """``{"connection_pool": ...}`` for ``redis.Redis(**p)``."""
    return build_for(request, REDIS)


def build_asyncio(request: Request) -> dict[str, Any]:
    """``{"connection_pool": ...}`` for ``redis.asyncio.Redis(**p)``."""
    return build_asyncio_for(request, REDIS)


def _sync_connection_class(context: ssl.SSLContext, connection: type, ssl_connection: type) -> type:
    """The library's ``SSLConnection``, wrapping its TCP socket with ``context`` alone
    (``connection``: the plain ``Connection`` whose ``_connect`` makes the TCP socket)."""

    def _connect(self: Any) -> Any:
        sock = connection._connect(self)  # type: ignore[attr-defined]
        try:
            return self.tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise

    return type(
        "TLSConnectSSLConnection",
        (ssl_connection,),
        {
            "__doc__": "An ``SSLConnection`` that uses tlsconnect's context (and nothing else).",
            "__module__": __name__,
            "tls_context": context,
            "_connect": _connect,
        },
    )


def _asyncio_connection_class(
    context: ssl.SSLContext, connection: type, ssl_connection: type
) -> type:
    """The library's asyncio ``SSLConnection``, opening its stream with ``context`` alone."""

    def _connection_arguments(self: Any) -> Any:
        arguments = dict(connection._connection_arguments(self))  # type: ignore[attr-defined]
        arguments["ssl"] = self.tls_context
        return arguments

    return type(
        "TLSConnectSSLConnection",
        (ssl_connection,),
        {
            "__doc__": "An asyncio ``SSLConnection`` that uses tlsconnect's context (and nothing "
            "else).",
            "__module__": __name__,
            "tls_context": context,
            "_connection_arguments": _connection_arguments,
        },
    )
