"""How each client matches a server certificate to the host name: libpq's rule and the
rule of every driver built on Python's ``ssl`` (with tlsconnect's floor), and which
driver follows which.

They differ. libpq (psycopg, psycopg2, and what is built on them) reads the subject
alternative names first, then the common name when no name of the host's kind is there,
and compares an IP-address host as text with DNS names and the common name
(``pgtls_verify_peer_name_matches_certificate_guts`` in libpq's fe-secure-openssl.c,
``pq_verify_peer_name_matches_certificate_name``/``_ip`` in fe-secure-common.c). Python's
``ssl`` hands the host to OpenSSL's ``X509_check_host``/``X509_check_ip``: DNS names only
for a name, IP-address entries only for an address, never the common name (tlsconnect's
contexts set ``hostname_checks_common_name = False``), and no partial wildcards.

Pure functions over what :meth:`ssl.SSLSocket.getpeercert` returns for a verified peer:
no I/O, no ``cryptography``.
"""

from __future__ import annotations

import socket

from ._errors import ConfigError
from ._model import HTTP_SERVICES, Driver, Service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LIBPQ",
    "PYTHON_SSL",
    "NameMatch",
    "check_driver",
    "drivers_with_rule",
    "libpq_matches",
    "name_rule",
    "peer_names",
    "python_ssl_matches",
]

#: The host-name rule of libpq.
LIBPQ = "libpq"
#: The host-name rule of OpenSSL as Python's ``ssl`` applies it under tlsconnect's floor.
PYTHON_SSL = "python-ssl"

_PG_LIBPQ = (Driver.PSYCOPG, Driver.PSYCOPG2, Driver.DJANGO, Driver.SQLALCHEMY)
_PG_PYTHON = (Driver.ASYNCPG, Driver.PG8000)
#: The service types each driver reaches.
_DRIVER_SERVICES: dict[Driver, frozenset[Service]] = {
    **dict.fromkeys(_PG_LIBPQ + _PG_PYTHON, frozenset({Service.POSTGRESQL})),
    Driver.SQLALCHEMY: frozenset({Service.POSTGRESQL, Service.MYSQL}),
    Driver.DJANGO: frozenset({Service.POSTGRESQL, Service.MYSQL}),
    **dict.fromkeys(
        (Driver.KAFKA_PYTHON, Driver.CONFLUENT_KAFKA, Driver.AIOKAFKA), frozenset({Service.KAFKA})
    ),
    **dict.fromkeys(
        (Driver.REDIS, Driver.REDIS_ASYNCIO), frozenset({Service.REDIS, Service.VALKEY})
    ),
    **dict.fromkeys(
        (Driver.PYMYSQL, Driver.AIOMYSQL, Driver.MYSQL_CONNECTOR), frozenset({Service.MYSQL})
    ),
    **dict.fromkeys((Driver.HTTPX, Driver.REQUESTS), frozenset(HTTP_SERVICES)),
    Driver.OPENSEARCH: frozenset({Service.OPENSEARCH}),
    Driver.CLICKHOUSE: frozenset({Service.CLICKHOUSE}),
    Driver.CASSANDRA: frozenset({Service.CASSANDRA}),
}
#: SQLAlchemy's PostgreSQL dialects that are not built on libpq.
_PYTHON_SSL_DIALECTS = frozenset({"asyncpg", "pg8000"})


def check_driver(driver: str | Driver, service: Service) -> Driver:
    """``driver`` parsed, and refused (a :class:`ConfigError`) when it does not reach
    ``service``."""
    parsed = Driver.parse(driver)
    services = _DRIVER_SERVICES.get(parsed, frozenset())
    if service not in services:
        reaches = ", ".join(sorted(s.value for s in services)) or "no service check knows"
        raise ConfigError(
            f"driver {parsed.value!r} does not connect to {service.value} (it reaches "
            f"{reaches}); name a driver of this service (driver=, --driver), or none "
            "for the service's usual one"
        )
    return parsed


def name_rule(service: Service, driver: Driver | None, scheme: str | None = None) -> str:
    """The host-name rule that decides for ``driver`` (``None``: the service's usual
    client: libpq for PostgreSQL) on ``service``. ``scheme`` is the target's URI scheme,
    which picks SQLAlchemy's dialect (``postgresql+asyncpg``)."""
    if service is not Service.POSTGRESQL:
        return PYTHON_SSL
    if driver is None:
        return LIBPQ
    if driver is Driver.SQLALCHEMY:
        dialect = (scheme or "").partition("+")[2]
        return PYTHON_SSL if dialect in _PYTHON_SSL_DIALECTS else LIBPQ
    return LIBPQ if driver in _PG_LIBPQ else PYTHON_SSL


def drivers_with_rule(service: Service, rule: str) -> list[str]:
    """The drivers of ``service`` whose host-name rule is ``rule``, by name."""
    if service is not Service.POSTGRESQL:
        return []
    return [d.value for d in (_PG_LIBPQ if rule == LIBPQ else _PG_PYTHON)]


# -- the names a certificate holds ---------------------------------------------------------


class PeerNames:
    """The names of a certificate, in its order: subjectAltName entries as
    ``("DNS", name)`` or ``("IP Address", text)``, and the common names."""

    __slots__ = ("common_names", "sans")

    def __init__(self, sans: list[tuple[str, str]], common_names: list[str]) -> None:
        self.sans = sans
        self.common_names = common_names


def peer_names(peer: dict[str, Any]) -> PeerNames:
    """The names in what :meth:`ssl.SSLSocket.getpeercert` returned."""
    sans = [(str(kind), str(value)) for kind, value in peer.get("subjectAltName", ())]
    common_names = [
        str(value) for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"
    ]
    return PeerNames(sans, common_names)


def _address_bytes(text: str) -> bytes | None:
    """An IP address's bytes; IPv4 as ``inet_aton`` reads it (libpq accepts its
    shorthands, such as ``127.1``), IPv6 as ``inet_pton``."""
    try:
        return socket.inet_aton(text)
    except OSError:
        pass
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        return None


def _strict_address(text: str) -> bytes | None:
    """An IP address's bytes in the standard notation only (how OpenSSL and Python's
    ``ssl`` tell an address from a host name)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_pton(family, text)
        except OSError:
            continue
    return None


def _libpq_name_matches(name: str, host: str) -> bool:
    """``pq_verify_peer_name_matches_certificate_name``: equal ignoring case, or a
    ``*.`` wildcard standing for exactly one leading label."""
    if "\x00" in name:
        return False  # libpq refuses a name with an embedded NUL outright
    if name.lower() == host.lower():
        return True
    if len(name) < 3 or not name.startswith("*.") or len(name) > len(host):
        return False
    if name[1:].lower() != host[len(host) - len(name) + 1 :].lower():
        return False
    return "." not in host[: len(host) - len(name)]


def libpq_matches(host: str, names: PeerNames) -> bool:
    """Whether libpq accepts a certificate with ``names`` for ``host`` (verify-full)."""
    host = host.strip("[]")
    if not host:
        return False  # libpq: "host name must be specified for a verified SSL connection"
    host_ip = _address_bytes(host)
    host_type = "IP Address" if host_ip is not None else "DNS"
    check_cn = True
    for kind, value in names.sans:
        if kind == host_type:
            check_cn = False
        if kind == "DNS":
            matched = _libpq_name_matches(value, host)
        elif kind == "IP Address":
            matched = host_ip is not None and _address_bytes(value) == host_ip
        else:
            continue
        if matched:
            return True
    if check_cn and names.common_names:
        return _libpq_name_matches(names.common_names[0], host)
    return False


def _openssl_name_matches(pattern: str, host: str) -> bool:
    """OpenSSL's ``X509_check_host`` for one DNS name, under Python's flags: equal
    ignoring case, or a whole ``*`` leftmost label over at least two more labels."""
    pattern, host = pattern.lower(), host.lower()
    if host.endswith(".") and len(host) > 1:
        host = host[:-1]  # one trailing dot of the reference name is dropped
    if pattern == host:
        return True
    if not pattern.startswith("*.") or pattern.count(".") < 2:
        return False
    suffix = pattern[1:]
    if not host.endswith(suffix):
        return False
    label = host[: -len(suffix)]
    return bool(label) and all(c.isascii() and (c.isalnum() or c == "-") for c in label)


def python_ssl_matches(host: str, names: PeerNames) -> bool:
    """Whether Python's ``ssl`` (OpenSSL, no common-name fallback) accepts a certificate
    with ``names`` for ``host``."""
    host = host.strip("[]")
    host_ip = _strict_address(host)
    for kind, value in names.sans:
        if host_ip is not None:
            if kind == "IP Address" and _strict_address(value) == host_ip:
                return True
        elif kind == "DNS" and _openssl_name_matches(value, host):
            return True
    return False


class NameMatch:
    """Both rules' verdicts on one certificate for one host, and why they part."""

    __slots__ = ("host", "libpq", "names", "python_ssl")

    def __init__(self, host: str, names: PeerNames) -> None:
        self.host = host
        self.names = names
        self.libpq = libpq_matches(host, names)
        self.python_ssl = python_ssl_matches(host, names)

    def verdict(self, rule: str) -> bool:
        return self.libpq if rule == LIBPQ else self.python_ssl

    def why_they_differ(self) -> str:
        """In words, what in the certificate makes the two rules disagree."""
        host = self.host.strip("[]")
        kinds = {kind for kind, _ in self.names.sans}
        is_ip = _address_bytes(host) is not None
        if self.libpq and not self.python_ssl:
            if is_ip and any(
                kind == "DNS" and value.lower() == host.lower() for kind, value in self.names.sans
            ):
                return f"it names the address {host} as a DNS name, not as an IP-address entry"
            if is_ip:
                return f"it names the address {host} only in the CN"
            if "DNS" not in kinds:
                return "it names its host only in the CN"
            return "libpq's wildcard rule is wider than OpenSSL's for this name"
        return "its names match under Python's ssl but not under libpq's rule"
