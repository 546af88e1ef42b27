"""What a libpq can read, by its version: the capability check of every libpq driver.

Drivers built on libpq (psycopg, psycopg2) each load a libpq of their own (a wheel bundles
one), and an older libpq refuses a keyword it does not know with "invalid connection
option", or reads ``sslrootcert=system`` as a file named ``system``. So the parameters are
checked against the libpq the driver reports (``psycopg.pq.version()``,
``psycopg2.extensions.libpq_version()``), and a libpq too old is a :class:`ConfigError`
naming the version found and the one needed. Written out (``tlsconnect config``), the
libpq that will read the result is unknown: each requirement is a warning instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._errors import ConfigError, TLSConnectWarning, warn

__all__ = [
    "DIRECT_TLS_LIBPQ",
    "SYSTEM_ROOT_LIBPQ",
    "check_libpq",
    "libpq_requirements",
    "libpq_version_text",
    "warn_libpq_requirements",
]

#: libpq 17 added ``sslnegotiation`` (direct TLS).
DIRECT_TLS_LIBPQ = 170000
#: libpq 16 added ``sslrootcert=system`` (the operating system's trust store).
SYSTEM_ROOT_LIBPQ = 160000


def libpq_version_text(version: int) -> str:
    """``170011`` (``PQlibVersion()``'s form) as ``17.11`` (libpq 10 and later), ``90624``
    as ``9.6.24``."""
    if version >= 100000:
        return f"{version // 10000}.{version % 10000}"
    return f"{version // 10000}.{version // 100 % 100}.{version % 100}"


def libpq_requirements(params: Mapping[str, object]) -> list[tuple[str, int]]:
    """(what, the libpq version it needs) for each setting in ``params`` that an older
    libpq cannot read."""
    needs: list[tuple[str, int]] = []
    if params.get("sslnegotiation") == "direct":
        needs.append(("sslnegotiation=direct", DIRECT_TLS_LIBPQ))
    if params.get("sslrootcert") == "system":
        needs.append(("sslrootcert=system", SYSTEM_ROOT_LIBPQ))
    return needs


def check_libpq(params: Mapping[str, object], version: int, driver: str, upgrade: str) -> None:
    """Refuse ``params`` when ``driver``'s libpq (``version``, as ``PQlibVersion()`` gives
    it) is too old for one of its settings; ``upgrade`` says how to get a newer one."""
    for what, needed in libpq_requirements(params):
        if version < needed:
            raise ConfigError(
                f"{what} needs libpq {libpq_version_text(needed)} or later, and {driver} "
                f"uses libpq {libpq_version_text(version)}; {upgrade}, or leave {what} out"
            )


def warn_libpq_requirements(params: Mapping[str, object]) -> None:
    """The same requirements, as warnings: for parameters written out, whose reader's
    libpq is unknown."""
    for what, needed in libpq_requirements(params):
        warn(
            f"{what} needs libpq {libpq_version_text(needed)} or later (psycopg-binary "
            '3.2.3+ bundles libpq 17; check with `python -c "import psycopg; '
            'print(psycopg.pq.version())"`); an older libpq refuses this configuration',
            TLSConnectWarning,
        )
