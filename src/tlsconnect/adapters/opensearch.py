"""opensearch-py: keyword arguments for ``opensearchpy.OpenSearch(**p)``.

opensearch-py ignores every other TLS option once ``ssl_context`` is given (it warns only
for some of them), so with a context nothing else that looks like a TLS setting is passed:
``hosts`` (with the target's path as ``url_prefix``), ``use_ssl=True``, ``http_auth`` from
the URI's user and password, and the plan's context.

verify-ca needs one more step: with a context whose ``check_hostname`` is off, urllib3
checks the host name itself unless told ``assert_hostname=False``, which opensearch-py
does not pass on with a context. So verify-ca gets, as ``connection_class``, a subclass of
``Urllib3HttpConnection`` (or of the one given) whose pool is told
``assert_hostname=False``; the context, and its floor, stay the plan's. (From files,
urllib3 would build a context of its own, which on Python 3.13 accepts partial chains.)
Every written-out configuration, which JSON cannot give a context, uses opensearch-py's
file options instead: ``verify_certs``, ``ca_certs`` (only that file is trusted),
``client_cert``/``client_key`` and ``ssl_assert_hostname=False`` for verify-ca. Those have
no key password: an encrypted key is refused there, with the fix.

Only ``Urllib3HttpConnection`` (the default) uses ``ssl_context``; another
``connection_class`` (``RequestsHttpConnection``) would drop it silently, and is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._base import plan_trust_file, refuse_server_name
from ._http import basic_auth, client_files, refuse_query

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["build"]

_TLS_KEYS = (
    "use_ssl",
    "verify_certs",
    "ssl_context",
    "ca_certs",
    "client_cert",
    "client_key",
    "ssl_assert_hostname",
    "ssl_assert_fingerprint",
    "ssl_version",
    "ssl_show_warn",
    "scheme",
)


def build(request: Request) -> dict[str, Any]:
    target, plan = request.target, request.plan
    refuse_query(target, "opensearch-py")
    host: dict[str, Any] = {"host": target.host, "port": target.port}
    if target.path.strip("/"):
        host["url_prefix"] = target.path.rstrip("/")
    params: dict[str, Any] = {"hosts": [host], "use_ssl": True}
    auth = basic_auth(target)
    if auth is not None:
        params["http_auth"] = auth
    connection_class = request.take("connection_class")
    if connection_class is not None:
        _check_connection_class(connection_class)
        params["connection_class"] = connection_class
    if request.durable:
        params.update(_file_options(request))
        return request.finish(params, tls_keys=_TLS_KEYS)
    params["ssl_context"] = plan.ssl_context()
    if plan.verify_chain and not plan.check_hostname:
        params["connection_class"] = _chain_only_connection(connection_class)
    return request.finish(params, tls_keys=_TLS_KEYS)


def _chain_only_connection(given: Any) -> type:
    """A subclass of ``given`` (``Urllib3HttpConnection`` by default) whose pool does not
    check the host name itself: the context (check_hostname off) decides, as verify-ca
    asks. Without opensearch-py's pool hook the pool keeps checking: stricter, never
    weaker."""
    from opensearchpy import Urllib3HttpConnection

    base = given if given is not None else Urllib3HttpConnection

    class ChainOnlyConnection(base):  # type: ignore[misc, valid-type]
        def _create_urllib3_pool(self) -> None:
            super()._create_urllib3_pool()
            self.pool.assert_hostname = False

    ChainOnlyConnection.__name__ = ChainOnlyConnection.__qualname__ = (
        f"ChainOnly{getattr(base, '__name__', 'Connection')}"
    )
    return ChainOnlyConnection


def _file_options(request: Request) -> dict[str, Any]:
    refuse_server_name(
        request,
        "it goes through opensearch-py's file options (see tlsconnect.adapters.opensearch), "
        "which have no option for the name to send"
        + ("" if request.durable else "; use sslmode='verify-full', which takes a context"),
    )
    plan = request.plan
    credentials = plan.credentials
    if credentials is not None and credentials.key_password is not None:
        where = (
            "a written-out configuration names files"
            if request.durable
            else "verify-ca goes through them (see tlsconnect.adapters.opensearch)"
        )
        raise ConfigError(
            "opensearch-py's file options (client_key=) have no key password, and "
            f"{where}, so an encrypted key cannot be used here; write an unencrypted copy only "
            "you can read (`openssl pkey -in service.key -out service-plain.key && chmod 600 "
            "service-plain.key`) and pass that"
            + ("" if request.durable else ", or use sslmode='verify-full'")
        )
    options: dict[str, Any] = {"verify_certs": plan.verify_chain}
    if plan.verify_chain:
        options["ca_certs"] = plan_trust_file(request)
        if not plan.check_hostname:
            options["ssl_assert_hostname"] = False
    pair = client_files(request)
    if pair is not None:
        options["client_cert"], options["client_key"] = pair
    return options


def _check_connection_class(connection_class: Any) -> None:
    from opensearchpy import Urllib3HttpConnection

    if isinstance(connection_class, type) and issubclass(connection_class, Urllib3HttpConnection):
        return
    name = getattr(connection_class, "__name__", repr(connection_class))
    raise ConfigError(
        f"connection_class={name} does not take opensearch-py's ssl_context (and ignores it "
        "silently) or its host name switch, so the plan would not apply; leave "
        "connection_class out (the default, Urllib3HttpConnection, takes them)"
    )
