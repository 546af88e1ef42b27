"""aiomysql: ``await aiomysql.connect(**p)``.

aiomysql takes only an ``ssl.SSLContext`` as ``ssl=`` (a dict, as SQLAlchemy builds
from URL keys, breaks it: aiomysql #978): the parameters hand it the plan's context.

aiomysql decides to use the context only when the server's greeting offers TLS (the
CLIENT_SSL flag): a server, or someone on the path, that does not offer it gets the
login without TLS, and nothing in ``connect()``'s arguments can stop that (PyMySQL 1.2
and later refuse instead). Managed services always offer TLS; ``tlsconnect check``
says when a server does not.

Written out (``tlsconnect config``), ``tls`` names the files the context is built
from; :data:`USAGE` gives the lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import TLSDowngradeWarning, warn
from ._mysql import connection_keywords
from ._recipe import CONTEXT_LINES, context_files

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["DOWNGRADE_WARNING", "USAGE", "build"]

USAGE = "\n  ".join(
    (
        "use (aiomysql takes only an SSLContext; this one trusts tls['cafiles'] alone):",
        'cfg = json.loads(pathlib.Path("aiomysql.json").read_text()); tls = cfg.pop("tls")',
        *CONTEXT_LINES,
        "connection = await aiomysql.connect(**cfg, ssl=context)",
    )
)


#: Given on every call: the risk is in every connection made with these parameters.
DOWNGRADE_WARNING = (
    "aiomysql uses TLS only when the server's greeting offers it: a server, or anyone on "
    "the network path who rewrites the greeting without the SSL flag, makes it log in and "
    "go on WITHOUT TLS, and nothing in connect()'s arguments can stop that. Use PyMySQL "
    "(1.2 or later refuses instead), or run `tlsconnect check` to see that the server "
    "offers TLS."
)


def build(request: Request) -> dict[str, Any]:
    warn(DOWNGRADE_WARNING, TLSDowngradeWarning)
    keywords = connection_keywords(request, database_keyword="db")
    plan = request.plan
    if request.durable:
        keywords["tls"] = context_files(request, "aiomysql")
    else:
        keywords["ssl"] = plan.ssl_context()
    return request.finish(keywords, tls_keys=("ssl",))
