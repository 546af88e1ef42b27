"""The public :func:`resolve`: a plan for a service, and for the target the caller will use.

It reads a target as :func:`tlsconnect.params` does (:func:`tlsconnect._plan.plan_for`), so
that :meth:`TLSPlan.explain` shows what ``params()`` will do. It lives above
:mod:`._plan` because parsing a target is not on the path of the first context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._plan import OPTIONS_DOC, Options, TLSPlan, plan_for, resolve_plan, warn_if_insecure
from ._target import parse_target

if TYPE_CHECKING:
    from ._material import Credentials
    from ._model import Service, SSLMode, SSLNegotiation, Trust
    from ._pem import Material

__all__ = ["resolve"]


def resolve(
    service: str | Service,
    *,
    target: str | None = None,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
) -> TLSPlan:
    """Decide how to connect to ``service``; see the API contract for every rule.

    ``target``: the service URI, libpq ``key=value`` string or ``host:port`` that
    :func:`tlsconnect.params` would be given. Its own TLS words are read as ``params()``
    reads them (the console's ``sslmode=require`` with the project CA at hand is
    verify-full), so that :meth:`TLSPlan.explain` shows what ``params()`` will do.
    """
    given = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    if target is None:
        plan = resolve_plan(service, given)
    else:
        plan = plan_for(parse_target(target, service), given)
    warn_if_insecure(plan)
    return plan


resolve.__doc__ = (resolve.__doc__ or "") + OPTIONS_DOC
