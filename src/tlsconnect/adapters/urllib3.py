"""urllib3: keyword arguments for ``urllib3.PoolManager(**p)``.

``ssl_context`` is the plan's context, so urllib3 loads no CAs of its own (it loads the
system's only into a context it made itself) and the trust is exactly the plan's. urllib3
sets a given context's verify mode itself, from ``cert_reqs``, and checks host names itself
on a context that does not, unless told ``assert_hostname=False``: ``cert_reqs`` says what
the plan verifies, and verify-ca carries ``assert_hostname=False``. The target's user and
password become an ``Authorization`` header (urllib3 drops it on a redirect to another
host). The URL is the caller's: ``http.request("GET", url)``.

Written out (``tlsconnect config``), the context becomes the files and switches it is
built from, with the lines that build it (:data:`USAGE`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._http import basic_auth, basic_auth_headers, refuse_query
from ._recipe import context_files, usage

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = usage(
    'cfg.pop("tls")',
    'auth = cfg.pop("auth", None); http = urllib3.PoolManager(**cfg, ssl_context=context, '
    'headers=urllib3.make_headers(basic_auth=":".join(auth)) if auth else None)',
)

_TLS_KEYS = (
    "ssl_context",
    "tls",
    "cert_reqs",
    "assert_hostname",
    "assert_fingerprint",
    "ca_certs",
    "ca_cert_dir",
    "ca_cert_data",
    "cert_file",
    "key_file",
    "key_password",
    "ssl_version",
    "ssl_minimum_version",
    "ssl_maximum_version",
    "server_hostname",
)


def build(request: Request) -> dict[str, Any]:
    request.take("service")  # read by parse
    target, plan = request.target, request.plan
    refuse_query(target, "urllib3's PoolManager")
    params: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED" if plan.verify_chain else "CERT_NONE"}
    if plan.verify_chain and not plan.check_hostname:
        params["assert_hostname"] = False
    if request.durable:
        # The user and password as they are (as every written-out configuration holds
        # them), not folded into a header: the note makes the header.
        auth = basic_auth(target)
        if auth is not None:
            params["auth"] = list(auth)
        params["tls"] = context_files(request, "urllib3")
        return request.finish(params, tls_keys=_TLS_KEYS)
    headers = basic_auth_headers(target, request.take("headers"))
    if headers is not None:
        params["headers"] = headers
    params["ssl_context"] = plan.ssl_context()
    return request.finish(params, tls_keys=_TLS_KEYS)
