"""cassandra-driver: keyword arguments for ``cassandra.cluster.Cluster(**p)``.

cassandra-driver resolves contact points to IP addresses and, unless told otherwise,
checks the server's certificate against that address (PYTHON-1186), which a managed
service's certificate does not name. So ``ssl_options={"server_hostname": host}`` names the
host of the target, which every connection then checks (and sends as SNI), and
``ssl_context`` is the plan's context. Its legacy ``ssl_options`` keys (``ca_certs``,
``cert_reqs``, ...) are never used: the context it builds from them writes ``cert_reqs``
over the context's options (dropping defaults such as no compression) instead of setting
its verification mode, and reads ``CERT_NONE`` as ``CERT_REQUIRED``.

The target's user and password become a ``PlainTextAuthProvider``. Written out
(``tlsconnect config``), the context becomes the files and switches it is built from and
the provider its keyword arguments, with the lines that build both (:data:`USAGE`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._http import refuse_query
from ._recipe import CONTEXT_ONE_LINE, context_files

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = (
    f'use: tls = cfg.pop("tls"); {CONTEXT_ONE_LINE}; '
    'cfg["auth_provider"] = cassandra.auth.PlainTextAuthProvider(**cfg["auth_provider"]) '
    'if cfg.get("auth_provider") else None; '
    "cluster = cassandra.cluster.Cluster(**cfg, ssl_context=context)"
)

_TLS_KEYS = ("ssl_context", "ssl_options", "tls")


def build(request: Request) -> dict[str, Any]:
    target, plan = request.target, request.plan
    refuse_query(target, "cassandra-driver")
    if target.path.strip("/"):
        raise ConfigError(
            f"the target names a keyspace ({target.path.strip('/')}), and Cluster() takes "
            "none; pass it when connecting: cluster.connect('KEYSPACE')"
        )
    host = target.host
    params: dict[str, Any] = {
        "contact_points": [host],
        "port": target.port,
        # With server_name, that name is verified (and sent) on every connection instead.
        "ssl_options": {"server_hostname": plan.server_name or host},
    }
    if request.durable:
        params["tls"] = context_files(request, "cassandra-driver", names_server=True)
    else:
        params["ssl_context"] = plan.ssl_context()
    if target.user:
        credentials = {"username": target.user, "password": target.password or ""}
        if request.durable:
            params["auth_provider"] = credentials
        else:
            from cassandra.auth import PlainTextAuthProvider

            params["auth_provider"] = PlainTextAuthProvider(**credentials)
    return request.finish(params, tls_keys=_TLS_KEYS)
