"""valkey-py: ``valkey.Valkey(**p)`` and ``valkey.asyncio.Valkey(**p)``, for Valkey (and
Redis): ``valkeys://`` and ``rediss://`` targets.

valkey-py is redis-py 5 under another name, with its traps and one more: it takes no
``ssl.SSLContext`` either, its own options add the CA given to OpenSSL's default paths
(``SSL_CERT_FILE`` and the system store), and ``ssl_check_hostname`` defaults to
**False**, so its own options given a CA verify the chain but never the host name. The
parameters are redis-py's (:mod:`.redis_py`, the same code): a connection pool whose
``SSLConnection`` subclass wraps each socket with the plan's context and nothing else, so
the host name is checked exactly when the plan says and only the plan's CAs are trusted;
``ssl_check_hostname`` is set explicitly too, so that a connection's attributes tell the
truth. The pool is the caller's: ``p["connection_pool"].disconnect()`` closes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Service
from .redis_py import Library, build_asyncio_for, build_for, parse_for, usage_for

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "USAGE_ASYNCIO", "VALKEY", "build", "build_asyncio", "parse"]

VALKEY = Library("valkey", "Valkey", "valkey._parsers.url_parser", Service.VALKEY, "valkey-py")
USAGE = usage_for(VALKEY, asyncio=False)
USAGE_ASYNCIO = usage_for(VALKEY, asyncio=True)

parse = parse_for(VALKEY)


def build(request: Request) -> dict[str, Any]:
    """``{"connection_pool": ...}`` for ``valkey.Valkey(**p)``."""
    return build_for(request, VALKEY)


def build_asyncio(request: Request) -> dict[str, Any]:
    """``{"connection_pool": ...}`` for ``valkey.asyncio.Valkey(**p)``."""
    return build_asyncio_for(request, VALKEY)
