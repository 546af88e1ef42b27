"""aiohttp: keyword arguments for ``aiohttp.ClientSession(**p)``.

aiohttp takes the plan's ``ssl.SSLContext`` on its connector: ``connector`` is a
``TCPConnector(ssl=context)``, so the trust is exactly the plan's (with a context aiohttp
reads no ``SSL_CERT_FILE``/``SSL_CERT_DIR``) and the host name is checked exactly when
the plan says. ``base_url`` is the target's ``https://host:port/path``; its user and
password become an ``Authorization`` header (aiohttp 3.14 deprecates ``BasicAuth``, and
drops the header on a redirect to another origin). Options ``TCPConnector`` takes (``limit=``, ...)
go to the connector, the others to the session; none may replace a TLS setting.

Two rules of aiohttp shape the result. A connector belongs to the event loop it was made
in, and aiohttp makes it only inside a running loop: ``params("aiohttp")`` is called in
the coroutine that makes the session (outside one it is a :class:`~tlsconnect.ConfigError`
that says so). And the session closes its connector when it closes: one ``p`` serves one
session; call ``params`` again for the next. aiohttp's per-request ``ssl=False`` (which
users reach for when verification fails) still turns verification off for that request:
leave it out.

Written out (``tlsconnect config``), the context becomes the files and switches it is
built from, with the lines that build it (:data:`USAGE`).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._http import base_url, basic_auth, basic_auth_headers, refuse_query
from ._recipe import context_files, usage

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = usage(
    'cfg.pop("tls")',
    'import base64; auth = cfg.pop("auth", None); session = aiohttp.ClientSession(**cfg, '
    'headers={"Authorization": "Basic " + base64.b64encode(":".join(auth).encode()).decode()} '
    "if auth else None, connector=aiohttp.TCPConnector(ssl=context))",
    when="inside the running event loop, ",
)

_TLS_KEYS = (
    "connector",
    "ssl",
    "ssl_context",
    "tls",
    "verify_ssl",
    "fingerprint",
    "connector_owner",
)


def _session_url(request: Request) -> str:
    url = base_url(request.target)
    # aiohttp joins a request's path to a base URL's path only when that ends with "/".
    return f"{url}/" if request.target.path.strip("/") else url


def build(request: Request) -> dict[str, Any]:
    request.take("service")  # read by parse
    target, plan = request.target, request.plan
    refuse_query(target, "aiohttp's ClientSession")
    params: dict[str, Any] = {"base_url": _session_url(request)}
    if request.durable:
        # The user and password as they are (as every written-out configuration holds
        # them), not folded into a header: the note makes the header.
        auth = basic_auth(target)
        if auth is not None:
            params["auth"] = list(auth)
        params["tls"] = context_files(request, "aiohttp")
        return request.finish(params, tls_keys=_TLS_KEYS)
    headers = basic_auth_headers(target, request.take("headers"))
    if headers is not None:
        params["headers"] = headers
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise ConfigError(
            "params('aiohttp') makes an aiohttp.TCPConnector, which aiohttp makes only inside "
            "a running event loop (and which belongs to that loop); call it in the coroutine "
            "that makes the session: async def main(): p = tlsconnect.params('aiohttp', ...); "
            "async with aiohttp.ClientSession(**p) as session: ..."
        ) from None
    import aiohttp

    request.finish({}, tls_keys=_TLS_KEYS)  # refuses any option that is about TLS
    connector_names = set(inspect.signature(aiohttp.TCPConnector.__init__).parameters)
    connector_names -= {"self", "loop"}
    rest = request.rest()
    for_connector = {name: value for name, value in rest.items() if name in connector_names}
    for_session = {name: value for name, value in rest.items() if name not in connector_names}
    params["connector"] = aiohttp.TCPConnector(ssl=plan.ssl_context(), **for_connector)
    return {**params, **for_session}
