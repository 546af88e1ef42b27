"""clickhouse-driver: keyword arguments for ``clickhouse_driver.Client(**p)``, ClickHouse's
native protocol over TLS (the service's secure native port; 9440 when a target names
none).

clickhouse-driver takes no context: it builds one per connection from file options. So
``secure=True``; ``verify`` and ``check_hostname`` say what the plan checks; ``ca_certs``
always names the plan's one CA file (left out, clickhouse-driver falls back to certifi's
bundle, or without certifi to the system store); ``certfile``/``keyfile``/``keypass`` the
client pair (private copies of the material as it was checked). The context
clickhouse-driver builds from them loads only the file given, so the trust is exactly
the plan's. ``server_hostname`` is left to clickhouse-driver: the host it connects to.

Targets: ``clickhouse://user:password@host:port/database`` (``clickhouses://`` too) and
``host:port``. The console's ``https://`` URI names ClickHouse's HTTPS interface, which
speaks HTTP, not the native protocol: refused, with the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from .._model import Service
from .._target import Target, parse_target
from ._base import password_text, plan_trust_file
from ._http import client_files, refuse_query

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["NATIVE_SECURE_PORT", "build", "parse"]

#: ClickHouse's default secure native port.
NATIVE_SECURE_PORT = 9440

_TLS_KEYS = (
    "secure",
    "verify",
    "check_hostname",
    "ca_certs",
    "certfile",
    "keyfile",
    "keypass",
    "ssl_version",
    "ciphers",
    "server_hostname",
)


def parse(target: object, options: dict[str, Any]) -> Target:
    """``clickhouse://[user:password@]host[:port][/database]``, ``host:port`` or ``host``."""
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(
            "clickhouse-driver needs a target: clickhouse://user:password@host:port/database "
            "or host:port (the service's native port)"
        )
    text = target.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("https", "http"):
        raise ConfigError(
            f"target {scheme}:// names ClickHouse's HTTPS interface, and clickhouse-driver "
            "speaks the native protocol; use the host and the native port from the console "
            "(clickhouse://user:password@host:port/database), or use the 'clickhouse' "
            "driver (clickhouse-connect) with the https:// URI"
        )
    if not scheme and ":" not in text.rpartition("]")[2]:
        text = f"{text}:{NATIVE_SECURE_PORT}"
    return parse_target(text, Service.CLICKHOUSE)


def build(request: Request) -> dict[str, Any]:
    target, plan = request.target, request.plan
    refuse_query(target, "clickhouse-driver")
    params: dict[str, Any] = {"host": target.host, "port": target.port}
    if target.user:
        params["user"] = target.user
    if target.password is not None:
        params["password"] = target.password
    if target.dbname:
        params["database"] = target.dbname
    params["secure"] = True
    params["verify"] = plan.verify_chain
    # clickhouse-driver checks host names by default; said explicitly either way.
    params["check_hostname"] = plan.check_hostname
    if plan.verify_chain:
        params["ca_certs"] = plan_trust_file(request)
    pair = client_files(request)
    if pair is not None:
        params["certfile"], params["keyfile"] = pair
        credentials = plan.credentials
        if credentials is not None and credentials.key_password is not None:
            params["keypass"] = password_text(credentials.key_password, "clickhouse-driver")
    return request.finish(params, tls_keys=_TLS_KEYS)
