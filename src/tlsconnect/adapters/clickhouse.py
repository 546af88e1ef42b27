"""clickhouse-connect: keyword arguments for ``clickhouse_connect.get_client(**p)`` (its
HTTPS interface, the one the console's ``https://`` URI names).

clickhouse-connect trusts the operating system's store unless it is given a CA file, so
``ca_cert=`` always names the plan's one CA file (only it is trusted), ``verify=`` says
whether to verify, and ``client_cert``/``client_cert_key`` name the client pair (private
copies of the material as it was checked). The URI's user, password, database (its path)
and query keys (client options, as in clickhouse-connect's own DSN) are carried over.

At run time the result holds ``pool_mgr``: a urllib3 pool manager made by
clickhouse-connect's own ``get_pool_manager`` with ``ssl_context=`` the plan's context, so
the connection carries tlsconnect's floor (from files, urllib3 would build a context of its
own, which on Python 3.13 accepts partial chains) and an encrypted key works (the context
holds the pair). verify-ca adds ``assert_hostname=False`` (else urllib3 checks the host
name itself). Written out (``tlsconnect config``), the file keywords are used, and for the
two plans they cannot say (verify-ca, an encrypted key: no keywords for them)
``pool_mgr`` holds ``get_pool_manager``'s keyword arguments instead (:data:`USAGE`).

With a client certificate, clickhouse-connect authenticates by the certificate and does
not send the password (``tls_mode='mutual'``); when the target also carries a password,
``tls_mode='strict'`` is set (the certificate is presented, the password authenticates),
unless ``tls_mode`` is given.

``server_name`` is clickhouse-connect's own ``server_host_name`` (the name urllib3 sends
as SNI and, when it verifies, checks); through ``pool_mgr``, urllib3's ``server_hostname``
and ``assert_hostname``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._base import password_text, plan_trust_file
from ._http import client_files

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = (
    "use: "
    'cfg["pool_mgr"] = clickhouse_connect.driver.httputil.get_pool_manager(**cfg["pool_mgr"]) '
    'if "pool_mgr" in cfg else None; client = clickhouse_connect.get_client(**cfg)'
)

_TLS_KEYS = (
    "interface",
    "secure",
    "verify",
    "ca_cert",
    "client_cert",
    "client_cert_key",
    "pool_mgr",
    "server_host_name",
    "dsn",
)


def build(request: Request) -> dict[str, Any]:
    target, plan = request.target, request.plan
    params: dict[str, Any] = {"host": target.host, "port": target.port, "interface": "https"}
    if target.user:
        params["username"] = target.user
    if target.password is not None:
        params["password"] = target.password
    database = target.dbname or target.path.strip("/").split("/")[0]
    if database:
        params["database"] = database
    for name, value in target.params.items():
        if name in _TLS_KEYS or name in params:
            raise ConfigError(
                f"the target's query sets {name}=, which tlsconnect sets for clickhouse-connect "
                "from the plan (or from the URI itself); remove it from the URI"
            )
        params[name] = value
    credentials = plan.credentials
    pair = client_files(request)
    tls_mode = request.take("tls_mode")
    if tls_mode is not None:
        params["tls_mode"] = tls_mode
    elif pair is not None and target.password and "tls_mode" not in params:
        params["tls_mode"] = "strict"
    encrypted = credentials is not None and credentials.key_password is not None
    verify_ca = plan.verify_chain and not plan.check_hostname
    if not request.durable:
        from clickhouse_connect.driver.httputil import get_pool_manager

        pool: dict[str, Any] = {"verify": plan.verify_chain, "ssl_context": plan.ssl_context()}
        if verify_ca:
            pool["assert_hostname"] = False
        if pair is not None:
            # get_client reads client_cert only to choose the authentication (see above);
            # the context presents the certificate.
            params["client_cert"] = pair[0]
        params["pool_mgr"] = get_pool_manager(**pool)
        return request.finish(params, tls_keys=_TLS_KEYS)
    tls: dict[str, Any] = {"verify": plan.verify_chain}
    if plan.verify_chain:
        tls["ca_cert"] = plan_trust_file(request)
    if pair is not None:
        tls["client_cert"], tls["client_cert_key"] = pair
    if not (verify_ca or encrypted):
        params.update(tls)
        if plan.server_name is not None:
            params["server_host_name"] = plan.server_name
        return request.finish(params, tls_keys=_TLS_KEYS)
    if plan.server_name is not None:
        tls["server_hostname"] = plan.server_name
        if plan.check_hostname:
            tls["assert_hostname"] = plan.server_name
    if verify_ca:
        tls["assert_hostname"] = False
    if credentials is not None and credentials.key_password is not None:
        tls["key_password"] = password_text(credentials.key_password, "clickhouse-connect")
    if pair is not None:
        # get_client reads client_cert only to choose the authentication (see above); the
        # pool manager presents the certificate.
        params["client_cert"] = pair[0]
    params["pool_mgr"] = tls
    return request.finish(params, tls_keys=_TLS_KEYS)
