"""What the SQL drivers around PostgreSQL and MySQL share (asyncpg, SQLAlchemy, Django).

A target is what the console shows, for either database: ``postgres://…`` (also with
SQLAlchemy's ``+driver``, ``postgresql+asyncpg://…``), a libpq ``key=value`` string,
``mysql://…`` (``mysql+pymysql://…``), or ``host:port`` for the database the caller's
options name. Frameworks name their database driver separately from themselves, so a
missing one is checked here, when the parameters are built for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import ConfigError, MissingDependencyError
from .._model import Service
from .._target import PG_SCHEMES, pg_target
from .._target import parse_target as parse_uri
from ._base import installed
from .psycopg import conninfo_params

if TYPE_CHECKING:
    from .._target import Target

__all__ = ["require_module", "sql_target", "variant"]

_MYSQL_SCHEMES = ("mysql", "mariadb")


def sql_target(target: object, default: Service) -> Target:
    """A PostgreSQL or MySQL target; ``default`` is the database of ``host:port`` and of
    an empty target (a libpq ``key=value`` string is always PostgreSQL)."""
    if target is None or target == "":
        if default is Service.POSTGRESQL:
            return pg_target({})
        raise ConfigError("the target is empty; pass the service URI from the console")
    if not isinstance(target, str):
        raise ConfigError(f"target must be a string, not {type(target).__name__}")
    text = target.strip()
    if "://" in text:
        base = text.split("://", 1)[0].lower().partition("+")[0]
        if f"{base}://" not in PG_SCHEMES and base not in _MYSQL_SCHEMES:
            raise ConfigError(
                f"target {base}:// is not a PostgreSQL or MySQL service URI; pass the "
                "postgres://… or mysql://… URI from the service's Overview page"
            )
        return parse_uri(text)
    if "=" in text or default is Service.POSTGRESQL:
        return pg_target(conninfo_params(text))
    return parse_uri(text, default)


def variant(target: Target) -> str | None:
    """The driver a URI's scheme names (``asyncpg`` for ``postgresql+asyncpg://``)."""
    if target.scheme is None or "+" not in target.scheme:
        return None
    return target.scheme.partition("+")[2]


def require_module(module: str, purpose: str, extra: str) -> None:
    """:class:`MissingDependencyError` when ``module`` is not installed (no import)."""
    if not installed(module):
        raise MissingDependencyError(
            f"{purpose} needs {module}, which is not installed; install it with: "
            f'pip install "tlsconnect[{extra}]"'
        )
