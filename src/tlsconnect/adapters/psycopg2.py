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

from . import psycopg
from ._libpq import check_libpq, libpq_requirements, warn_libpq_requirements

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["build", "check_psycopg2_libpq", "libpq_version", "parse"]

parse = psycopg.parse

_PSYCOPG2_UPGRADE = "upgrade it (pip install -U psycopg2-binary) or the system libpq it loads"


def libpq_version() -> int:
    """The version of the libpq psycopg2 loaded (``PQlibVersion()``, e.g. ``170002``)."""
    from psycopg2 import extensions

    return int(extensions.libpq_version())


def check_psycopg2_libpq(
    params: dict[str, Any], *, durable: bool, driver: str = "psycopg2"
) -> None:
    """The libpq psycopg2 loads must read ``params`` (see :mod:`._libpq`); written out, the
    requirements are warnings. ``driver`` names what loads it (Django, SQLAlchemy)."""
    if not libpq_requirements(params):
        return  # nothing to ask of libpq: psycopg2 is not even imported
    if durable:
        warn_libpq_requirements(params)
        return
    check_libpq(params, libpq_version(), driver, _PSYCOPG2_UPGRADE)


def build(request: Request) -> dict[str, Any]:
    """psycopg's parameters, checked against the libpq psycopg2 loads."""
    params = psycopg.libpq_params(request)
    check_psycopg2_libpq(params, durable=request.durable)
    return params
