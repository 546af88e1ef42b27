"""httpx: keyword arguments for ``httpx.Client(**p)`` and ``httpx.AsyncClient(**p)``.

``verify=`` gets the plan's ``ssl.SSLContext``, the form every httpx version takes and the
only one httpx 0.28 does not deprecate (``verify="ca.pem"`` and ``cert=`` warn there).
With a context, httpx reads no ``SSL_CERT_FILE``/``SSL_CERT_DIR`` either: the trust is
exactly the plan's. ``base_url`` is the target's ``https://host:port/path``, ``auth`` its
user and password, ``params`` its other query keys.

Written out (``tlsconnect config``), which JSON cannot hold, the context becomes the files
and switches it is built from, with the lines that build it (:data:`USAGE`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._http import TUPLES_RECIPE, base_url, basic_auth
from ._recipe import CONTEXT_ONE_LINE, context_files

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = (
    f'use: {TUPLES_RECIPE}; tls = cfg.pop("tls"); {CONTEXT_ONE_LINE}; '
    "client = httpx.Client(**cfg, verify=context)"
)

_TLS_KEYS = ("verify", "cert", "ssl_context", "tls")


def build(request: Request) -> dict[str, Any]:
    request.take("service")  # read by parse
    for name in ("transport", "mounts"):
        if request.take(name) is not None:
            raise ConfigError(
                f"httpx uses the TLS settings of a {name}= given to it and ignores verify=, "
                "so the plan would not apply; build the transport with "
                'httpx.HTTPTransport(verify=p["verify"], ...) from these parameters instead'
            )
    target, plan = request.target, request.plan
    params: dict[str, Any] = {"base_url": base_url(target)}
    auth = basic_auth(target)
    if auth is not None:
        params["auth"] = auth
    if target.params:
        params["params"] = dict(target.params)
    if request.durable:
        params["tls"] = context_files(request, "httpx")
    else:
        params["verify"] = plan.ssl_context()
    return request.finish(params, tls_keys=_TLS_KEYS)
