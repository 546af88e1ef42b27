"""psycopg (libpq): connection parameters for ``psycopg.connect(**params)``.

libpq verifies the server itself, from files: this adapter turns the plan into libpq's
``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey`` and ``sslpassword``. Two libpq
habits are neutralised: files under ``~/.postgresql/`` are never picked up (every path is
named, non-existent ones in a private directory nobody else can write), and a key file
that group or others can read (which libpq refuses) is replaced by a private 0600 copy,
with a :class:`~tlsconnect.KeyPermissionWarning` that gives the ``chmod 600`` fix.

Direct TLS (``sslnegotiation="direct"``, or in the target) adds libpq's
``sslnegotiation=direct``: libpq 17+ then starts the TLS handshake at once, offering ALPN
"postgresql" (PostgreSQL 17+ servers). A libpq too old for it, or for
``sslrootcert=system`` (16+), is a :class:`~tlsconnect.ConfigError` naming both versions
(see :mod:`._libpq`).

Host names: libpq (14 and later) matches subjectAltName entries and, only when a
certificate has no DNS SAN, its common name; tlsconnect's Python contexts never use the
common name. Managed services' certificates carry SANs, so both agree on them.

``server_name``: libpq verifies ``host`` and connects to ``hostaddr`` when both are given,
so the parameters say ``host=`` the name and ``hostaddr=`` the target's addresses
(:func:`libpq_where`). libpq takes lists, so a host name as target is resolved when the
parameters are made, to every address it has, and the name is repeated once per address.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Any

from .._conninfo import parse_conninfo, refuse_socket_hosts, split_hosts
from .._errors import ConfigError, KeyPermissionWarning, warn
from .._files import NEVER_EXISTS, missing_path
from .._model import Trust
from .._target import Target, parse_target, pg_target
from .._trust import trust_file
from ._base import password_text
from ._libpq import check_libpq, libpq_requirements, warn_libpq_requirements

if TYPE_CHECKING:
    from .._material import Credentials
    from .._plan import TLSPlan
    from ._base import Request

__all__ = [
    "LIBPQ_TLS_KEYS",
    "build",
    "check_psycopg_libpq",
    "conninfo_params",
    "libpq_tls",
    "libpq_where",
    "parse",
]

#: The libpq keywords that carry TLS settings; tlsconnect sets every one of them
#: (``sslnegotiation`` only when it is ``direct``: older libpqs do not know the word).
#: ``gssencmode`` is among them: GSSAPI encryption, when libpq finds a Kerberos ticket,
#: replaces TLS (and its plan) altogether, so libpq results say ``gssencmode=disable``.
LIBPQ_TLS_KEYS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "gssencmode",
    "sslnegotiation",
)
_PSYCOPG_UPGRADE = (
    'upgrade psycopg (pip install -U "psycopg[binary]": psycopg-binary 3.2.3 and later bundle '
    "libpq 17) or the system libpq it loads"
)


def conninfo_params(target: object) -> dict[str, str]:
    """The libpq keywords of a conninfo (``postgresql://`` URI or ``key=value``), of
    ``host:port``, or of nothing."""
    if target is None or target == "":
        return {}
    if not isinstance(target, str):
        raise ConfigError(f"conninfo must be a string, not {type(target).__name__}")
    if "=" in target or "://" in target or ":" not in target:
        return parse_conninfo(target)
    spec = parse_target(target, "postgresql")
    return {"host": spec.host, "port": str(spec.port)}


def parse(target: object, options: dict[str, Any]) -> Target:
    """A conninfo (``postgresql://`` URI or ``key=value``), ``host:port``, or nothing.

    The driver options are libpq keywords and join the conninfo, winning over its own (as
    in ``psycopg.connect(conninfo, **kwargs)``); an ``sslrootcert=`` among them is material.
    """
    params = conninfo_params(target)
    params.update(options)
    return pg_target(params)


def libpq_tls(plan: TLSPlan, *, durable: bool = False) -> dict[str, str]:
    """libpq's TLS keywords for a plan (without the connection's other keywords)."""
    credentials = plan.credentials
    params: dict[str, str] = {"sslmode": _libpq_sslmode(plan), "gssencmode": "disable"}
    if plan.verify_chain:
        # libpq 16+ reads sslrootcert=system itself, but only with verify-full.
        fallback = "system" if plan.check_hostname else None
        params["sslrootcert"] = trust_file(Trust(plan.trust), credentials, system_fallback=fallback)
    else:
        # Without this, libpq would verify against a stray ~/.postgresql/root.crt.
        params["sslrootcert"] = _never("root-cert", durable)
    if credentials is not None and credentials.has_client_cert:
        params["sslcert"] = str(credentials.cert_file())
        params["sslkey"] = _libpq_key_file(credentials, durable)
        if credentials.key_password is not None:
            params["sslpassword"] = password_text(credentials.key_password, "libpq")
    else:
        # Without these, libpq would send a stray ~/.postgresql/postgresql.crt.
        params["sslcert"] = _never("client-cert", durable)
        params["sslkey"] = _never("client-key", durable)
    if plan.direct_tls:
        params["sslnegotiation"] = "direct"
    return params


def check_psycopg_libpq(params: dict[str, Any], *, durable: bool) -> None:
    """The libpq psycopg loads must read ``params`` (see :mod:`._libpq`); written out, the
    requirements are warnings."""
    if not libpq_requirements(params):
        return  # nothing to ask of libpq: psycopg is not even imported
    if durable:
        warn_libpq_requirements(params)
        return
    import psycopg

    check_libpq(params, psycopg.pq.version(), "psycopg", _PSYCOPG_UPGRADE)


def libpq_where(params: dict[str, str], server_name: str, *, durable: bool) -> dict[str, str]:
    """``host``, ``hostaddr`` and ``port`` that connect where ``params`` say and make libpq
    verify ``server_name`` (and send it as SNI).

    A ``hostaddr`` in ``params`` is where libpq connects already: only ``host`` changes.
    Otherwise each host is an address, or a name resolved now to every address it has
    (written out, ``durable``, a name is refused: addresses pinned in a file outlive the
    name's DNS records).
    """
    if not server_name.isascii():
        # libpq compares the certificate's names with host as written: the A-label
        # (xn--...) is what certificates hold; Python's ssl converts it itself.
        server_name = server_name.encode("idna").decode("ascii")
    given = params.get("hostaddr", "").strip()
    if given:
        count = len(given.split(","))
        return {"host": ",".join([server_name] * count), "hostaddr": given}
    addresses: list[tuple[str, int]] = []
    for host, port in split_hosts(params):
        host = host.strip("[]")
        if host.startswith(("/", "@")):
            raise ConfigError(
                f"host {host!r} names a Unix socket, where PostgreSQL speaks no TLS and "
                "server_name has nothing to verify; pass the address to connect to"
            )
        if _is_address(host):
            addresses.append((host, port))
        elif durable:
            raise ConfigError(
                f"server_name= with the host name {host!r} as target: libpq connects to "
                "addresses (hostaddr=), and addresses written into a configuration file "
                "outlive the name's DNS records (a failover, a migration); pass the address "
                "itself as the target (through a tunnel: 127.0.0.1), or make the parameters "
                "at run time with params(), which resolves the name on every call"
            )
        else:
            addresses += [(address, port) for address in _resolve(host, port)]
    ports = {port for _, port in addresses}
    return {
        "host": ",".join([server_name] * len(addresses)),
        "hostaddr": ",".join(address for address, _ in addresses),
        "port": str(ports.pop()) if len(ports) == 1 else ",".join(str(p) for _, p in addresses),
    }


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` has, in the resolver's order, each once."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(
            f"the host name {host!r} could not be resolved ({exc}), and with server_name= "
            "libpq is given its addresses (hostaddr=); check the name, or pass an address "
            "as the target"
        ) from None
    addresses: list[str] = []
    for _, _, _, _, sockaddr in found:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _libpq_sslmode(plan: TLSPlan) -> str:
    """The libpq sslmode that does what the plan decided."""
    if not plan.verify_chain:
        return "require"
    return "verify-full" if plan.check_hostname else "verify-ca"


def _never(purpose: str, durable: bool) -> str:
    return NEVER_EXISTS[purpose] if durable else str(missing_path(purpose))


def _libpq_key_file(credentials: Credentials, durable: bool) -> str:
    own = credentials.key_file_as_given()
    mode = credentials.key_file_mode()
    if own is not None and mode is not None and mode & 0o077 == 0:
        return str(own)
    if durable:
        raise ConfigError(
            f"{credentials.key_label()} can be read by group or others (mode {mode or 0:04o}), "
            f"which libpq refuses; fix it with `chmod 600 '{own}'`, or pass --output-dir DIR "
            "to have a usable copy written there"
        )
    if own is not None:
        warn(
            f"{credentials.key_label()} can be read by group or others (mode "
            f"{mode or 0:04o}), which libpq refuses; a private 0600 copy is used instead. "
            f"Fix it for good with `chmod 600 '{own}'`.",
            KeyPermissionWarning,
        )
    return str(credentials.private_key_file())


def libpq_params(request: Request) -> dict[str, Any]:
    """Every keyword of the conninfo (the driver options joined it in :func:`parse`), with
    libpq's TLS keywords replaced by the plan's: what every libpq driver is given, before
    the check against the libpq it loads."""
    request.rest()  # every option already joined the conninfo
    params: dict[str, Any] = {
        name: value for name, value in request.target.params.items() if name not in LIBPQ_TLS_KEYS
    }
    params.update(libpq_tls(request.plan, durable=request.durable))
    refuse_socket_hosts(params.get("host"), request.driver.value, hostaddr=params.get("hostaddr"))
    server_name = request.plan.server_name
    if server_name is not None:
        params.update(libpq_where(request.target.params, server_name, durable=request.durable))
    return params


def build(request: Request) -> dict[str, Any]:
    """:func:`libpq_params`, checked against the libpq psycopg loads."""
    params = libpq_params(request)
    check_psycopg_libpq(params, durable=request.durable)
    return params
