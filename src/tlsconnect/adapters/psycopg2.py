"""psycopg2 (libpq): connection parameters for ``psycopg2.connect(**params)``.

psycopg2 is libpq as psycopg is, so its parameters are psycopg's (see :mod:`.psycopg`):
libpq's ``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey`` and ``sslpassword``, every
file named, nothing under ``~/.postgresql/`` picked up. What differs is the libpq:
``psycopg2-binary`` bundles its own, of its own version, whatever psycopg's or the
system's is. A parameter that needs a newer libpq than the one psycopg2 loads is refused
here with both versions named, rather than left for libpq to reject as an unknown word
or, worse, to read differently: ``sslrootcert=system`` (the operating system's CAs, when
no CA file of theirs is found) needs libpq 16.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from . import psycopg

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["build", "check_libpq", "libpq_version", "parse"]

parse = psycopg.parse

#: libpq parameter values and the libpq version (``PQlibVersion()``) each needs.
_NEEDS: tuple[tuple[str, str, int], ...] = (("sslrootcert", "system", 160000),)


def libpq_version() -> int:
    """The version of the libpq psycopg2 loaded (``PQlibVersion()``, e.g. ``170002``)."""
    from psycopg2 import extensions

    return int(extensions.libpq_version())


def version_text(version: int) -> str:
    """``170002`` as ``17.2`` (libpq 10 and later), ``90624`` as ``9.6.24``."""
    if version >= 100000:
        return f"{version // 10000}.{version % 10000}"
    return f"{version // 10000}.{version // 100 % 100}.{version % 100}"


def check_libpq(params: dict[str, Any], version: int, what: str) -> None:
    """A :class:`ConfigError` when ``params`` hold a value the libpq of ``version`` cannot
    read; ``what`` names the driver that loads that libpq."""
    for name, value, needed in _NEEDS:
        if params.get(name) == value and version < needed:
            raise ConfigError(
                f"{name}={value} needs libpq {needed // 10000} or later, and {what} "
                f"loads libpq {version_text(version)}; upgrade it (pip install -U "
                "psycopg2-binary), or give the CA file explicitly (ca=..., or install the "
                "operating system's ca-certificates package)"
            )


def build(request: Request) -> dict[str, Any]:
    """psycopg's parameters, checked against the libpq psycopg2 loads."""
    params = psycopg.build(request)
    if not request.durable:
        check_libpq(params, libpq_version(), "psycopg2")
    return params
