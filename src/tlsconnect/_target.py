"""Targets: what a user copies from the console, parsed into where to connect and as what.

A target is a service URI (``postgres://``, ``kafka://``, ``SERVICE://host:port``), a
libpq ``key=value`` string, ``host:port`` (with the service given separately), or a Kafka
bootstrap list. Standard library only: parsing never connects and never loads material.
"""

from __future__ import annotations

import re

from ._conninfo import check_port, parse_conninfo, split_hosts, unencoded_userinfo, unquote
from ._errors import ConfigError
from ._model import Service

__all__ = [
    "KAFKA_SCHEMES",
    "PG_SCHEMES",
    "PLAINTEXT_SCHEMES",
    "SCHEMES",
    "Target",
    "encryption_only_word",
    "parse_bootstrap",
    "parse_target",
    "pg_target",
    "redact_target",
    "split_host_port",
    "uri_sslmode",
]

#: URI schemes that name a Kafka bootstrap address (the console's and clients' spellings).
KAFKA_SCHEMES = ("kafka://", "kafka+ssl://", "ssl://", "sasl_ssl://")
#: URI schemes libpq reads.
PG_SCHEMES = ("postgres://", "postgresql://")
#: URI schemes read as whole URIs (user, password, path and query kept): (the service they
#: mean, or None when the service must be given; the default port; whether the scheme is
#: plaintext). Other ``SERVICE://host:port`` schemes name only where to connect.
SCHEMES: dict[str, tuple[Service | None, int | None, bool]] = {
    "mysql": (Service.MYSQL, 3306, False),
    "mariadb": (Service.MYSQL, 3306, False),
    "rediss": (Service.REDIS, 6379, False),
    "valkeys": (Service.VALKEY, 6379, False),
    "redis": (Service.REDIS, 6379, True),
    "valkey": (Service.VALKEY, 6379, True),
    "https": (None, 443, False),
    "http": (None, 80, True),
    # The console's Cassandra URI carries the service user and password.
    "cassandra": (Service.CASSANDRA, 9042, False),
    # ClickHouse's native protocol (clickhouse-driver's spelling, user, password and
    # database kept): always over TLS here, on the secure port by default.
    "clickhouse": (Service.CLICKHOUSE, 9440, False),
    "clickhouses": (Service.CLICKHOUSE, 9440, False),
}
#: The plaintext schemes and their TLS spelling (every managed service speaks only TLS).
PLAINTEXT_SCHEMES = {"redis": "rediss", "valkey": "valkeys", "http": "https"}
#: libpq keywords that name material files.
PG_MATERIAL_KEYS = ("sslrootcert", "sslcert", "sslkey", "sslpassword")


class Target:
    """Where to connect and as which service, parsed from a URI or ``host:port``.

    ``sslmode`` is the TLS word the target itself carries (``?sslmode=require``), if any;
    ``material`` the files a libpq target names (``sslrootcert``, ``sslcert``, ...);
    ``params`` every keyword a libpq target holds; ``servers`` a Kafka bootstrap list.
    ``asks_encryption_only`` is the target's TLS word as written when it only asks for
    encryption (the console's ``sslmode=require``, MySQL's ``ssl-mode=REQUIRED``): the
    plan raises it when the project CA is at hand (see :func:`tlsconnect._plan.plan_for`).
    """

    __slots__ = (
        "asks_encryption_only",
        "dbname",
        "host",
        "material",
        "origin",
        "params",
        "password",
        "path",
        "port",
        "scheme",
        "servers",
        "service",
        "sslmode",
        "user",
    )

    def __init__(
        self,
        service: Service,
        host: str,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        dbname: str | None = None,
        sslmode: str | None = None,
        material: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        servers: tuple[str, ...] = (),
        origin: str = "target",
        scheme: str | None = None,
        path: str = "",
        asks_encryption_only: str | None = None,
    ) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.dbname = dbname
        self.sslmode = sslmode
        self.material = dict(material or {})
        self.params = dict(params or {})
        self.servers = servers or (_join_host_port(host, port),)
        self.origin = origin  # how messages name it: "target" or "conninfo"
        self.scheme = scheme  # the URI's scheme, lower case, when it was a URI
        self.path = path  # a URI's path after the host (HTTP: the base path; Cassandra's)
        self.asks_encryption_only = asks_encryption_only

    def __repr__(self) -> str:
        # The password is never shown.
        return (
            f"Target(service={self.service.value!r}, host={self.host!r}, port={self.port}, "
            f"user={self.user!r}, dbname={self.dbname!r}, sslmode={self.sslmode!r})"
        )

    def plaintext_refusal(self) -> str | None:
        """For a plaintext scheme (``redis://``, ``valkey://``, ``http://``): why it is
        refused and the TLS scheme to use; ``None`` for every other target."""
        secure = PLAINTEXT_SCHEMES.get(self.scheme or "")
        if secure is None:
            return None
        # http://host means port 80, which https:// does not: the port only when written.
        default = SCHEMES[self.scheme or ""][1]
        where = self.host if self.port == default else _join_host_port(self.host, self.port)
        return (
            f"target {self.scheme}:// is plaintext (no TLS), and every managed service speaks "
            f"only TLS; use {secure}://{where} (the service URI in the console starts with it)"
        )


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_host_port(text: str, what: str) -> tuple[str, int]:
    """``host:port`` or ``[v6addr]:port`` with a required port; ``what`` names the input."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ConfigError(f"{what}: write an IPv6 address as [addr]:port")
        port = rest[1:]
    else:
        host, colon, port = text.rpartition(":")
        if not colon or ":" in host:
            raise ConfigError(
                f"{what} has no port; write host:port (the service URI on the service's "
                "Overview page has both), and [addr]:port for IPv6"
            )
    if not host or any(c.isspace() for c in host):
        raise ConfigError(f"{what} has no valid host; write host:port")
    return host, check_port(port, what)


def parse_bootstrap(bootstrap_servers: object) -> list[str]:
    """``"h1:p1,h2:p2"`` or a list of ``host:port`` into a clean, duplicate-free list."""
    if isinstance(bootstrap_servers, str):
        items = bootstrap_servers.split(",")
    elif isinstance(bootstrap_servers, list | tuple):
        items = []
        for item in bootstrap_servers:
            if not isinstance(item, str):
                raise ConfigError(
                    f"bootstrap_servers entries must be strings, not {type(item).__name__}"
                )
            items.extend(item.split(","))
    else:
        raise ConfigError(
            "bootstrap_servers must be 'host:port' (comma-separated for several) or a list "
            f"of them, not {type(bootstrap_servers).__name__}"
        )
    servers: list[str] = []
    for raw in items:
        entry = raw.strip()
        if not entry:
            continue
        for scheme in KAFKA_SCHEMES:
            if entry.lower().startswith(scheme):
                entry = entry[len(scheme) :]
        entry = entry.rstrip("/")
        what = f"bootstrap server {redact_target(raw.strip())!r}"
        where = entry.rpartition("@")[2]  # user information is not where to connect
        server = _join_host_port(*split_host_port(where, what))
        if server not in servers:
            servers.append(server)
    if not servers:
        raise ConfigError(
            "bootstrap_servers is empty; pass host:port of the Kafka service (from its "
            "Overview page)"
        )
    return servers


def parse_target(target: str, service: str | Service | None = None) -> Target:
    """``postgres://…``, ``kafka://host:port``, ``SERVICE://host:port``, ``host:port``, or
    a libpq ``key=value`` conninfo (always PostgreSQL).

    SQLAlchemy's ``BASE+DRIVER://`` spellings of PostgreSQL's and MySQL's URIs
    (``postgresql+asyncpg://``, ``mysql+pymysql://``) read as the plain URI; the target's
    ``scheme`` keeps the whole of it, for the adapter that picks the driver.
    """
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(
            "target must be a service URI (postgres://…, kafka://host:port) or host:port"
        )
    text = target.strip()
    variant = _driver_variant(text)
    if variant is not None:
        # postgresql+asyncpg://, mysql+pymysql:// (SQLAlchemy's spelling): the target is
        # the plain URI's; the whole scheme is kept for the adapter that chose the driver.
        base, rest = variant
        spec = parse_target(f"{base}://{rest}", service)
        spec.scheme = text.split("://", 1)[0].lower()
        return spec
    lowered = text.lower()
    chosen = None if service is None else Service.parse(service)
    if _CONNINFO.match(text):
        # libpq's key=value conninfo: PostgreSQL's own form of a target.
        if chosen is not None and chosen is not Service.POSTGRESQL:
            raise ConfigError(
                f"a key=value target is libpq's conninfo (PostgreSQL), but service="
                f"{chosen.value} was given; pass the service's URI or host:port"
            )
        return pg_target(parse_conninfo(text))
    if lowered.startswith(PG_SCHEMES):
        if chosen is not None and chosen is not Service.POSTGRESQL:
            raise ConfigError(
                f"target {text.split('://')[0]}:// is PostgreSQL but service={chosen.value} "
                "was given; leave the service out"
            )
        return pg_target(parse_conninfo(text))
    if lowered.startswith(KAFKA_SCHEMES):
        if chosen is not None and chosen is not Service.KAFKA:
            raise ConfigError(
                f"target kafka:// is Kafka but service={chosen.value} was given; leave the "
                "service out"
            )
        chosen = Service.KAFKA
        text = text.split("://", 1)[1]
    elif "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme in SCHEMES:
            return _uri_target(text, chosen)
        text = text.split("://", 1)[1]
        from_scheme = _scheme_service(scheme)
        if chosen is not None and chosen is not from_scheme:
            raise ConfigError(
                f"target {scheme}:// is {from_scheme.value} but service={chosen.value} was given"
            )
        chosen = from_scheme
    shown = f"target {redact_target(target)!r}"
    if chosen is None:
        raise ConfigError(
            f"{shown} does not say which service it is; pass service= (--service), "
            "e.g. --service postgresql, or use a postgres:// or kafka:// URI"
        )
    authority = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    try:
        host, port = split_host_port(authority.rpartition("@")[2], shown)
    except ConfigError:
        if "@" not in authority and "@" in text:
            raise ConfigError(unencoded_userinfo(shown)) from None
        raise
    return Target(chosen, host, port)


def _scheme_service(scheme: str) -> Service:
    """The service a ``SERVICE://`` scheme names; an unknown scheme is refused with the
    nearest known spellings (``postgress://``: did you mean ``postgres://``?)."""
    try:
        return Service.parse(scheme)
    except ConfigError:
        import difflib  # only for this message

        known = sorted(
            {s.split("://")[0] for s in (*PG_SCHEMES, *KAFKA_SCHEMES)}
            | (set(SCHEMES) - set(PLAINTEXT_SCHEMES))
            | {service.value for service in Service}
        )
        close = difflib.get_close_matches(scheme, known, n=2, cutoff=0.7)
        guess = f"did you mean {' or '.join(f'{c}://' for c in close)}? " if close else ""
        raise ConfigError(
            f"target scheme '{scheme}://' is not one tlsconnect knows; {guess}"
            f"use one of: {', '.join(f'{k}://' for k in known)}"
        ) from None


def _driver_variant(text: str) -> tuple[str, str] | None:
    """``(base scheme, rest)`` for ``BASE+DRIVER://rest`` where BASE is PostgreSQL's or
    MySQL's scheme (``postgresql+asyncpg://``), else ``None``."""
    scheme, separator, rest = text.partition("://")
    base, plus, driver = scheme.lower().partition("+")
    if not separator or not plus or not driver:
        return None
    if f"{base}://" in PG_SCHEMES or base in ("mysql", "mariadb"):
        return base, rest
    return None


def _uri_target(text: str, service: Service | None) -> Target:
    """``mysql://``, ``rediss://``, ``https://`` and their kin: user, password, database
    (or base path) and query are kept; the query's TLS words become ``sslmode``."""
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    from_scheme, default_port, plaintext = SCHEMES[scheme]
    if service is None:
        service = from_scheme
    elif (
        from_scheme is not None
        and service is not from_scheme
        and not ({service, from_scheme} <= {Service.REDIS, Service.VALKEY})
    ):
        raise ConfigError(
            f"target {scheme}:// is {from_scheme.value} but service={service.value} was given"
        )
    if service is None:
        raise ConfigError(
            f"target {scheme}:// does not say which service it is; pass service= "
            "(--service), e.g. service='opensearch'"
        )
    whole = rest
    rest = rest.partition("#")[0]
    rest, _, query_text = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if "@" not in authority and "@" in whole and not _is_host_port(authority, default_port):
        raise ConfigError(unencoded_userinfo(f"target {scheme}://"))
    user = password = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    if authority.startswith("[") or authority.count(":") == 1:
        host, port = split_host_port(authority, f"target {scheme}://")
    elif authority and default_port is not None:
        host, port = authority, default_port
    else:
        raise ConfigError(f"target {scheme}:// has no host; write {scheme}://host:port")
    query: dict[str, str] = {}
    for pair in query_text.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            query[unquote(key)] = unquote(value)
    sslmode = uri_sslmode(query)
    if plaintext:
        # redis:// and http:// name a plaintext connection; unless the caller asks for
        # a verified one (sslmode=), that is refused as sslmode=disable is.
        sslmode = "disable"
    database = unquote(path) if slash and path and scheme in _DATABASE_SCHEMES else None
    if scheme in ("redis", "rediss", "valkey", "valkeys") and slash and path:
        query.setdefault("db", unquote(path))
    return Target(
        service,
        host.strip("[]"),
        port,
        user=user,
        password=password,
        dbname=database,
        sslmode=sslmode,
        asks_encryption_only=None if plaintext else encryption_only_word(query),
        params={k: v for k, v in query.items() if k not in _TLS_WORDS},
        scheme=scheme,
        path=("/" + path if slash and scheme in ("https", "http", "cassandra") else ""),
    )


def _is_host_port(authority: str, default_port: int | None) -> bool:
    """Whether ``authority`` reads as host[:port] (the port, when given, a number)."""
    host, colon, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    if not colon:
        return bool(authority) and default_port is not None
    return bool(host) and port.isascii() and port.isdigit()


#: URI schemes whose path is the database.
_DATABASE_SCHEMES = ("mysql", "mariadb", "clickhouse", "clickhouses")

#: Query keys that carry TLS settings in the URIs drivers and consoles write.
_TLS_WORDS = frozenset(
    {
        "sslmode",
        "ssl-mode",
        "ssl_mode",
        "sslMode",
        "ssl",
        "tls",
        "secure",
        "ssl_cert_reqs",
        "ssl_check_hostname",
        "verify",
        "verify_certs",
        "ssl_ca",
        "ssl_ca_certs",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_cert",
        "ssl_key",
        "sslrootcert",
        "sslcert",
        "sslkey",
    }
)
_FALSE = frozenset({"false", "0", "no", "off", "none"})
# MySQL's ssl-mode words and what they mean in libpq's (disabled/preferred are refused
# by SSLMode.parse as every plaintext-allowing mode is).
_MYSQL_MODES = {
    "disabled": "disable",
    "preferred": "prefer",
    "required": "require",
    "verify_ca": "verify-ca",
    "verify_identity": "verify-full",
}


def uri_sslmode(query: dict[str, str]) -> str | None:
    """The sslmode a URI's own TLS words mean, or ``None`` when it says nothing.

    ``sslmode`` (libpq), ``ssl-mode`` (MySQL: ``REQUIRED``, ``VERIFY_CA``,
    ``VERIFY_IDENTITY``), ``ssl_cert_reqs``/``ssl_check_hostname`` (redis-py), ``ssl``, ``secure``
    and ``verify``/``verify_certs``. What the caller asks for always wins over this.
    """
    lowered = {key.lower(): value.strip().lower() for key, value in query.items()}
    if "sslmode" in lowered:
        return lowered["sslmode"]
    for key in ("ssl-mode", "ssl_mode"):
        if key in lowered:
            return _MYSQL_MODES.get(lowered[key].replace("-", "_"), lowered[key])
    if "ssl_cert_reqs" in lowered:
        requirement = lowered["ssl_cert_reqs"].removeprefix("cert_")
        if requirement in ("none", "optional"):
            return "require"
        if lowered.get("ssl_check_hostname") in _FALSE:
            return "verify-ca"
        return "verify-full"
    if lowered.get("ssl_check_hostname") in _FALSE:
        return "verify-ca"
    if lowered.get("verify") in _FALSE or lowered.get("verify_certs") in _FALSE:
        return "require"
    for key in ("ssl", "tls", "secure"):
        if key in lowered:
            return "disable" if lowered[key] in _FALSE else "require"
    return None


def encryption_only_word(query: dict[str, str]) -> str | None:
    """The TLS word of a URI's query, as written, when it asks for encryption and for
    nothing about verification (``sslmode=require``, ``ssl-mode=REQUIRED``, ``ssl=true``);
    ``None`` otherwise. Read in :func:`uri_sslmode`'s order, so it is the word that decided."""
    lowered = {key.lower(): (key, value) for key, value in query.items()}
    if "sslmode" in lowered:
        key, value = lowered["sslmode"]
        return f"{key}={value}" if value.strip().lower() == "require" else None
    for name in ("ssl-mode", "ssl_mode"):
        if name in lowered:
            key, value = lowered[name]
            return f"{key}={value}" if value.strip().lower() == "required" else None
    if {"ssl_cert_reqs", "ssl_check_hostname", "verify", "verify_certs"} & set(lowered):
        return None
    for name in ("ssl", "tls"):
        if name in lowered:
            key, value = lowered[name]
            return None if value.strip().lower() in _FALSE else f"{key}={value}"
    return None


def pg_target(params: dict[str, str]) -> Target:
    """A PostgreSQL target from libpq keywords (its first host is the one checked)."""
    gss = str(params.get("gssencmode", "")).strip().lower()
    if gss in ("require", "prefer"):
        raise ConfigError(
            f"gssencmode={gss} asks libpq for GSSAPI encryption, which replaces TLS and every "
            "check the TLS plan makes; leave gssencmode out (tlsconnect sets "
            "gssencmode=disable)"
        )
    where = {name: str(params[name]) for name in ("host", "port") if params.get(name)}
    host, port = split_hosts(where)[0]
    return Target(
        Service.POSTGRESQL,
        host,
        port,
        user=params.get("user"),
        password=params.get("password"),
        dbname=params.get("dbname"),
        sslmode=params.get("sslmode"),
        asks_encryption_only=encryption_only_word(
            {"sslmode": params["sslmode"]} if "sslmode" in params else {}
        ),
        material={k: params[k] for k in PG_MATERIAL_KEYS if k in params},
        params=params,
        origin="conninfo",
    )


_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")
#: The start of a libpq ``key=value`` conninfo.
_CONNINFO = re.compile(r"^[A-Za-z_]+\s*=")
#: A keyword whose value is a secret (``password=``, ``sslpassword=``, ``sasl_password=``):
#: in a URI's query the value ends at ``&`` or ``#``; in a libpq ``key=value`` string it
#: is quoted, or ends at the next ``key=`` (words after an unquoted value that libpq would
#: refuse may be the rest of the password).
_SECRET_KEY = r"(?:^|(?<=[\s?&;]))[\w.-]*pass(?:word|wd)\s*=\s*"
_QUERY_SECRET = re.compile(rf"({_SECRET_KEY})([^&#]*)", re.IGNORECASE)
_KEYWORD_SECRET = re.compile(
    rf"""({_SECRET_KEY})('(?:[^'\\]|\\.)*'?|(?:\\.|\\$|[^\s\\])*(?:\s+[^\s=]+(?=\s|$))*)""",
    re.IGNORECASE | re.DOTALL,
)
#: What a redacted secret is shown as.
REDACTED = "***"


def redact_target(text: str) -> str:
    """``text`` with every password in it shown as ``***`` (the user is kept), for every
    message and report made from a target: a URI's ``user:password@`` (any scheme), a
    ``user:password@host:port`` without one, and ``password=``, ``sslpassword=`` (and
    other ``*password=`` keywords) in a query or a libpq ``key=value`` string.

    Where the target is malformed (a password holding ``/``, ``?`` or ``@`` that was not
    percent-encoded) more is hidden rather than less: everything up to the last ``@``
    before the host.
    """
    if not isinstance(text, str):
        return text
    scheme = _SCHEME.match(text)
    if scheme is not None:
        head, rest = text[: scheme.end()], text[scheme.end() :]
        return head + _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", _redact_userinfo(rest))
    first_at = text.find("@")
    if first_at >= 0 and not re.search(r"[=\s]", text[:first_at]):
        return _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", _redact_userinfo(text))
    return _KEYWORD_SECRET.sub(rf"\g<1>{REDACTED}", text)


def _redact_userinfo(rest: str) -> str:
    """``user:password@host...`` (a URI after its scheme) as ``user:***@host...``."""
    first = rest.find("@")
    if first < 0:
        return rest
    # The host ends at the first '/', '?' or '#' after the first '@'; the user
    # information at the last '@' before that (a password may hold an '@').
    ends = [i for i in (rest.find(c, first) for c in "/?#") if i >= 0]
    at = rest.rfind("@", 0, min(ends, default=len(rest)))
    user, colon, _ = rest[:at].partition(":")
    if not colon:
        return rest
    return f"{user}:{REDACTED}{rest[at:]}"
