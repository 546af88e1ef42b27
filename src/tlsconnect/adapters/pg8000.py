"""pg8000: keyword arguments for ``pg8000.native.Connection(**p)`` and ``pg8000.connect(**p)``.

pg8000's default is the trap: with ``ssl_context=None`` (what a caller who passes nothing
gets) it asks the server for TLS, wraps the socket with a context that verifies nothing,
and when the server answers that it does not speak TLS, goes on in plaintext, password
and all. Only a given context makes it refuse such a server ("Server refuses SSL"). So the
parameters always hold ``ssl_context=`` the plan's context, under ``require`` too (a
context that verifies nothing, but never a fall back to plaintext).

pg8000 takes keywords, not a libpq conninfo: the target's libpq keywords become pg8000's
(``dbname`` -> ``database``, ``connect_timeout`` -> ``timeout``), the others startup
parameters (``startup_params``), and the target's TLS words are read as the sslmode and
never passed on. pg8000 reaches one host over TCP; it has no option for a Unix socket
that tlsconnect would hand on (``unix_sock``, and a host that names a socket, are refused:
PostgreSQL speaks no TLS there). pg8000 always sends the SSLRequest first: direct TLS
(``sslnegotiation='direct'``) is refused, not dropped.

Written out (``tlsconnect config``), the context is described under ``tls``; see
:data:`USAGE`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._conninfo import refuse_socket_hosts
from .._errors import ConfigError
from .._target import pg_target
from ._recipe import context_files, usage
from .psycopg import LIBPQ_TLS_KEYS, conninfo_params

if TYPE_CHECKING:
    from .._plan import TLSPlan
    from .._target import Target
    from ._base import Request

__all__ = ["TLS_KEYS", "USAGE", "build", "parse", "pg8000_keywords", "refuse_direct_tls"]

USAGE = usage("cfg.pop('tls')", "conn = pg8000.native.Connection(**cfg, ssl_context=context)")

#: Keywords that would replace the plan's context, or reach the server another way.
TLS_KEYS = ("ssl_context", "tls", "unix_sock", *LIBPQ_TLS_KEYS)

#: libpq's TLS keywords: the plan decides them, none reaches pg8000.
_TLS_WORDS = frozenset(
    {
        *LIBPQ_TLS_KEYS,
        "sslcrl",
        "sslcrldir",
        "sslcertmode",
        "sslcompression",
        "sslnegotiation",
        "sslsni",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "requiressl",
    }
)
_RENAMED = {"user": "user", "password": "password", "dbname": "database"}
#: libpq connection keywords pg8000 has no equivalent for (as startup parameters the
#: server would refuse them, or pg8000 would misread the answers).
_UNSUPPORTED = frozenset(
    {
        "hostaddr",
        "passfile",
        "client_encoding",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "channel_binding",
        "gssencmode",
        "gssdelegation",
        "gsslib",
        "krbsrvname",
        "load_balance_hosts",
        "require_auth",
        "service",
        "target_session_attrs",
    }
)


def parse(target: object, options: dict[str, Any]) -> Target:
    """A conninfo (``postgres://`` URI or ``key=value``) or ``host:port``; the driver
    options are pg8000's keywords and stay out of the target."""
    return pg_target(conninfo_params(target))


def pg8000_keywords(params: dict[str, str]) -> dict[str, Any]:
    """pg8000's keywords for libpq's (TLS words left out: the plan decides those)."""
    refuse_socket_hosts(params.get("host"), "pg8000")
    host = params["host"]
    if "," in host or "," in params.get("port", ""):
        raise ConfigError(
            "pg8000 connects to one host; pass one host of the service (its replicas have "
            "their own URIs)"
        )
    result: dict[str, Any] = {"host": host, "port": int(params.get("port") or 5432)}
    startup: dict[str, str] = {}
    for name, value in params.items():
        if name in _TLS_WORDS or name in ("host", "port"):
            continue
        if name in _UNSUPPORTED:
            raise ConfigError(
                f"the target's {name}= is a libpq keyword that pg8000 does not take; leave "
                "it out of the target (server settings go in startup_params={...})"
            )
        if name in _RENAMED:
            result[_RENAMED[name]] = value
        elif name == "connect_timeout":
            result["timeout"] = float(value)
        elif name == "application_name":
            result[name] = value
        else:
            startup[name] = value
    if startup:
        result["startup_params"] = startup
    return result


def refuse_direct_tls(plan: TLSPlan, what: str) -> None:
    """A :class:`ConfigError` when the plan asks for direct TLS: pg8000 always sends the
    SSLRequest first and has no option to start with the handshake."""
    if plan.direct_tls:
        raise ConfigError(
            f"sslnegotiation='direct' cannot be applied to {what}: pg8000 always asks for TLS "
            "with an SSLRequest first (the classic negotiation, which every PostgreSQL "
            "server takes) and has no option for direct TLS; leave sslnegotiation out, or "
            "use psycopg, psycopg2 (libpq 17+) or asyncpg for direct TLS"
        )


def build(request: Request) -> dict[str, Any]:
    """The connection's keywords from the target (the caller's keywords win), and
    ``ssl_context=`` the plan's context, always (written out: its recipe under ``tls``)."""
    params = pg8000_keywords(request.target.params)
    startup = request.take("startup_params")
    if startup:
        params["startup_params"] = {**params.get("startup_params", {}), **startup}
    for name in ("host", "port", "user", "password", "database", "timeout", "application_name"):
        given = request.take(name)
        if given is not None:
            params[name] = given
    refuse_socket_hosts(params["host"], "pg8000")
    refuse_direct_tls(request.plan, "pg8000")
    if not params.get("user"):
        raise ConfigError(
            "pg8000 needs a user name; put it in the target (postgres://USER@host:port/db) "
            "or pass user=..."
        )
    if request.durable:
        params["tls"] = context_files(request, "pg8000")
    else:
        params["ssl_context"] = request.plan.ssl_context()
    return request.finish(params, tls_keys=TLS_KEYS)
