"""What the HTTP adapters (httpx, requests, opensearch-py, clickhouse-connect) and the
context-taking adapters share.

* The target: an ``https://`` URI as the console shows it (user and password kept),
  ``SERVICE://host:port`` or ``host:port``; its base URL and its credentials.
* Client files for the path-only drivers (requests, clickhouse-connect). The written-out
  form of a context is :mod:`._recipe`'s, shared with every context-taking adapter.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from .._model import Service
from .._target import Target, parse_target

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._base import Request

__all__ = [
    "GENERIC_HTTP_SERVICE",
    "TUPLES_RECIPE",
    "base_url",
    "basic_auth",
    "basic_auth_headers",
    "client_files",
    "parse_for",
    "parse_generic",
    "refuse_query",
]

#: The service an ``https://`` target means for httpx and requests when ``service=`` is not
#: given. Every HTTP service type is decided alike (public CAs, and the project CA too when
#: one is given: see the trust table), so the plan is the same whichever of them it names.
GENERIC_HTTP_SERVICE = Service.OPENSEARCH

#: JSON has no tuples: turns the lists of a written-out configuration back into the tuples
#: drivers take (``auth``, ``cert``).
TUPLES_RECIPE = "cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}"


def _text(target: object) -> str:
    if not isinstance(target, str):
        raise ConfigError(
            f"target must be a string such as 'https://host:port', not {type(target).__name__}"
        )
    return target


def parse_for(service: Service) -> Callable[[object, dict[str, Any]], Target]:
    """``parse`` for a driver that speaks to one service type (OpenSearch, ClickHouse,
    Cassandra): its console URI, ``SERVICE://host:port`` or ``host:port``."""

    def parse(target: object, options: dict[str, Any]) -> Target:
        return parse_target(_text(target), service)

    parse.__doc__ = f"A {service.value} target: its console URI or host:port."
    return parse


def parse_generic(target: object, options: dict[str, Any]) -> Target:
    """An HTTP client's target: ``https://host:port/path`` (with ``service=`` among the
    driver options to name the service type, else :data:`GENERIC_HTTP_SERVICE`),
    ``SERVICE://host:port`` or ``host:port``."""
    text = _text(target)
    service = options.get("service")
    if service is None and text.strip().lower().split("://", 1)[0] in ("https", "http"):
        service = GENERIC_HTTP_SERVICE
    if service is None and "://" not in text:
        service = GENERIC_HTTP_SERVICE
    return parse_target(text, service)


def base_url(target: Target) -> str:
    """``https://host:port/path``: always https, whatever scheme the target had."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    path = target.path.rstrip("/")
    return f"https://{host}:{target.port}{path}"


def basic_auth(target: Target) -> tuple[str, str] | None:
    """The URI's user and password, for HTTP basic authentication."""
    if not target.user:
        return None
    return (target.user, target.password or "")


def basic_auth_headers(target: Target, headers: object = None) -> dict[str, str] | None:
    """``headers`` (the caller's, if any) with an ``Authorization: Basic`` header of the
    URI's user and password, for clients that take headers rather than a credential; ``None``
    when there is neither."""
    auth = basic_auth(target)
    if auth is None and headers is None:
        return None
    if headers is not None and not isinstance(headers, Mapping):
        raise ConfigError(
            f"headers= must be a mapping of names to values, not {type(headers).__name__}"
        )
    merged: dict[str, str] = dict(headers or {})
    if auth is not None:
        token = base64.b64encode(":".join(auth).encode("utf-8")).decode("ascii")
        merged["Authorization"] = f"Basic {token}"
    return merged


def refuse_query(target: Target, driver: str) -> None:
    """For drivers with no place for a URI's query options."""
    if target.params:
        names = ", ".join(sorted(target.params))
        raise ConfigError(
            f"the target's query ({names}) has no place in {driver}'s options; pass what "
            "you need as keyword arguments instead"
        )


def client_files(request: Request) -> tuple[str, str] | None:
    """The client certificate and key as files for a path-only driver: private copies of the
    material as it was checked at run time, files that outlive the process when written
    out."""
    credentials = request.plan.credentials
    if credentials is None or not credentials.has_client_cert:
        return None
    if request.durable:
        return str(credentials.cert_file()), str(credentials.key_file())
    return str(credentials.private_cert_file()), str(credentials.private_key_file())
