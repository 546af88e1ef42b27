"""asyncpg: keyword arguments for ``asyncpg.connect(**p)`` and ``asyncpg.create_pool(**p)``.

asyncpg reads ``sslmode``/``sslrootcert`` only inside a DSN (as keywords they are a
``TypeError``), and with ``sslmode`` it falls back on ``~/.postgresql/root.crt`` and
``postgresql.crt`` as libpq does. So the parameters hold the connection's keywords (host,
port, user, password, database) and ``ssl=`` the plan's ``SSLContext``; the target's TLS
words are read as the sslmode and never passed on. The target's other libpq keywords
become what asyncpg calls them (``dbname`` -> ``database``, ``connect_timeout`` ->
``timeout``), or server settings, as asyncpg's own DSN parser does.

Direct TLS (``sslnegotiation="direct"``, or in the target) is ``direct_tls=True`` (asyncpg
0.26+). PostgreSQL 17+ refuses a direct connection that does not offer ALPN "postgresql",
and asyncpg sets ALPN only on contexts it builds itself, never on one it is given: the
plan's context offers it (every PostgreSQL context does).

Written out (``tlsconnect config``), the context is described under ``tls`` instead::

    cfg = json.load(open("asyncpg.json"))
    tls = cfg.pop("tls")
    context = ssl.create_default_context(cafile=tls["cafile"])  # ... see USAGE
    conn = await asyncpg.connect(**cfg, ssl=context)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .._conninfo import check_port, refuse_socket_hosts, split_hosts
from .._errors import ConfigError, TLSConnectWarning, warn
from .._target import pg_target
from ._recipe import context_files, usage
from .psycopg import LIBPQ_TLS_KEYS, conninfo_params

if TYPE_CHECKING:
    from .._target import Target
    from ._base import Request

__all__ = [
    "DIRECT_TLS_ASYNCPG",
    "TLS_KEYS",
    "USAGE",
    "asyncpg_keywords",
    "asyncpg_negotiation",
    "build",
    "parse",
]

USAGE = usage("cfg.pop('tls')", "conn = await asyncpg.connect(**cfg, ssl=context)")

#: Keywords that would replace or bypass the plan's context.
TLS_KEYS = ("ssl", "tls", "dsn", "direct_tls", *LIBPQ_TLS_KEYS)
#: asyncpg 0.26.0 added ``direct_tls``.
DIRECT_TLS_ASYNCPG = (0, 26, 0)

#: libpq's TLS keywords: the plan decides them, none reaches asyncpg.
_LIBPQ_TLS_WORDS = frozenset(
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
#: libpq keywords asyncpg takes under the same name, or under another.
_SAME = ("user", "password", "passfile", "target_session_attrs", "krbsrvname", "gsslib")
_RENAMED = {"dbname": "database", "connect_timeout": "timeout"}
#: libpq connection keywords asyncpg has no equivalent for (as server settings the server
#: would refuse them); ``service`` would read the host and TLS words from a file.
_UNSUPPORTED = frozenset(
    {
        "hostaddr",
        "options",
        "client_encoding",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "channel_binding",
        "gssdelegation",
        "replication",
        "load_balance_hosts",
        "require_auth",
        "service",
    }
)


def parse(target: object, options: dict[str, Any]) -> Target:
    """A conninfo (``postgres://`` URI or ``key=value``) or ``host:port``; the driver
    options are asyncpg's keywords and stay out of the target."""
    return pg_target(conninfo_params(target))


def asyncpg_keywords(params: dict[str, str]) -> dict[str, Any]:
    """asyncpg's keywords for libpq's (TLS words left out: the plan decides those)."""
    result: dict[str, Any] = {}
    settings: dict[str, str] = {}
    for name, value in params.items():
        if name in _LIBPQ_TLS_WORDS or name in ("host", "port"):
            continue
        if name in _UNSUPPORTED:
            raise ConfigError(
                f"the target's {name}= is a libpq keyword that asyncpg does not take as "
                "libpq does; leave it out of the target (server settings go in "
                "server_settings={...})"
            )
        if name in _SAME:
            result[name] = value
        elif name == "connect_timeout":
            result["timeout"] = float(value)
        elif name in _RENAMED:
            result[_RENAMED[name]] = value
        else:
            settings[name] = value
    if "host" in params or "port" in params:
        pairs = split_hosts(params)
        hosts = [host for host, _ in pairs]
        ports = [port for _, port in pairs]
        result["host"] = hosts[0] if len(hosts) == 1 else hosts
        result["port"] = ports[0] if len(ports) == 1 else ports
    if settings:
        result["server_settings"] = settings
    return result


def _version_tuple(text: str) -> tuple[int, ...]:
    """``0.30.0rc1`` as ``(0, 30, 0)``: each part's leading digits, up to the first part
    that has other characters (a pre-release counts as its release)."""
    parts: list[int] = []
    for part in text.split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.end() != len(part):
            break
    return tuple(parts)


def asyncpg_negotiation(request: Request) -> dict[str, Any]:
    """``direct_tls=True`` when the plan starts TLS at once; an asyncpg too old for it is
    a :class:`ConfigError` naming both versions (written out: a warning)."""
    if not request.plan.direct_tls:
        return {}
    needed = ".".join(map(str, DIRECT_TLS_ASYNCPG))
    if request.durable:
        warn(f"direct_tls needs asyncpg {needed} or later", TLSConnectWarning)
        return {"direct_tls": True}
    import asyncpg

    found = str(getattr(asyncpg, "__version__", "0"))
    if _version_tuple(found) < DIRECT_TLS_ASYNCPG:
        raise ConfigError(
            f"sslnegotiation=direct needs asyncpg {needed} or later (its direct_tls), and "
            f'asyncpg {found} is installed; upgrade it (pip install -U "tlsconnect[asyncpg]"), '
            "or leave sslnegotiation=direct out"
        )
    return {"direct_tls": True}


def build(request: Request) -> dict[str, Any]:
    """The connection's keywords from the target (the caller's keywords win), and
    ``ssl=`` the plan's context (written out: its recipe under ``tls``)."""
    params = asyncpg_keywords(request.target.params)
    settings = request.take("server_settings")
    if settings:
        params["server_settings"] = {**params.get("server_settings", {}), **settings}
    host = request.take("host")
    if host is not None:
        params["host"] = host
    # The target's host as written (asyncpg_keywords fills libpq's default in for none).
    refuse_socket_hosts(host if host is not None else request.target.params.get("host"), "asyncpg")
    for name in [name for name in params if name not in TLS_KEYS]:
        given = request.take(name)
        if given is not None:
            params[name] = given
    given_port = request.take("port")
    if given_port is not None:
        params["port"] = given_port
    port = params.get("port")
    for each in port if isinstance(port, list | tuple) else [port] if port is not None else []:
        check_port(str(each), "port=")
    if request.durable:
        params["tls"] = context_files(request, "asyncpg")
    else:
        params["ssl"] = request.plan.ssl_context()
    params.update(asyncpg_negotiation(request))
    return request.finish(params, tls_keys=TLS_KEYS)
