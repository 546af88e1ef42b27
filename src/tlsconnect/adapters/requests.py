"""requests: keyword arguments for ``requests.get(url, **p)`` (and every request method of
``requests`` and of a ``requests.Session``).

requests verifies from files: ``verify=`` names the one CA file of the plan (only it is
trusted), ``cert=`` the client certificate and key (private copies of the material as it
was checked). Passed with each request, ``verify=`` also wins over ``REQUESTS_CA_BUNDLE``
and ``CURL_CA_BUNDLE``, which would silently replace a ``Session.verify`` set once
(requests #3829): with a session, pass ``**p`` to each call.

What requests cannot do is refused, never downgraded: it has no option to check the chain
without the host name (``verify-ca``), and none for a key's password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._base import plan_trust_file, refuse_server_name
from ._http import TUPLES_RECIPE, basic_auth, client_files

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = f"use: {TUPLES_RECIPE}; response = requests.get(url, **cfg)"

_TLS_KEYS = ("verify", "cert")


def build(request: Request) -> dict[str, Any]:
    request.take("service")  # read by parse
    refuse_server_name(
        request,
        "requests takes no SSLContext and no option for the name to verify (use httpx, "
        "whose verify= takes the context that verifies server_name)",
    )
    target, plan = request.target, request.plan
    if plan.verify_chain and not plan.check_hostname:
        how = (
            "sslmode='require' with a CA verifies the chain but not the host name (libpq's rule)"
            if plan.sslmode == "require"
            else "sslmode='verify-ca' verifies the chain but not the host name"
        )
        raise ConfigError(
            f"{how}, and requests cannot do that: it checks the host name whenever it "
            "verifies. Use sslmode='verify-full' and connect with a host name the server's "
            "certificate holds (the one in the service URI), or use httpx, which can skip "
            "only the host name check"
        )
    params: dict[str, Any] = {"verify": plan_trust_file(request) if plan.verify_chain else False}
    credentials = plan.credentials
    if credentials is not None and credentials.key_password is not None:
        raise ConfigError(
            "requests takes the client key as a file and has no option for its password, so "
            "an encrypted key cannot be used with it; write an unencrypted copy only you can "
            "read (`openssl pkey -in service.key -out service-plain.key && chmod 600 "
            "service-plain.key`) and pass that, or use httpx, which takes the key in memory"
        )
    pair = client_files(request)
    if pair is not None:
        params["cert"] = pair
    auth = basic_auth(target)
    if auth is not None:
        params["auth"] = auth
    if target.params:
        params["params"] = dict(target.params)
    return request.finish(params, tls_keys=_TLS_KEYS)
